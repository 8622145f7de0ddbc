import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.js";

describe("Backoff", () => {
  it("grows exponentially up to the cap, with jitter inside the window", () => {
    const lows = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    const highs = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    const hi = Array.from({ length: 6 }, () => highs.next());
    const lo = Array.from({ length: 6 }, () => lows.next());
    expect(hi).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(lo.every((v) => v === 50)).toBe(true);
    highs.reset();
    expect(highs.next()).toBe(100);
  });
});
