import { describe, expect, it } from "vitest";
import { backedUp } from "./live-hub.js";

const packet = (chars: number) => ({ type: "message", data: "x".repeat(chars) });

describe("a socket counts as slow (not written to) when engine.io's queue", () => {
  it("is empty or small: no", () => {
    expect(backedUp(undefined)).toBe(false);
    expect(backedUp([])).toBe(false);
    expect(backedUp(Array.from({ length: 32 }, () => packet(100)))).toBe(false);
  });

  it("holds more than 32 packets, however small: yes", () => {
    expect(backedUp(Array.from({ length: 33 }, () => packet(1)))).toBe(true);
  });

  it("holds more than 1 MiB, however few packets (a fleet page's device summaries): yes", () => {
    expect(backedUp([packet(600_000)])).toBe(false);
    expect(backedUp([packet(600_000), packet(600_000)])).toBe(true);
    expect(backedUp([{ type: "message", data: new Uint8Array(1_100_000) }])).toBe(true);
  });
});
