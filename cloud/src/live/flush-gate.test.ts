import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FlushGate } from "./flush-gate.js";

/** A transport whose busy/slow state the test sets; records when the gate writes. */
function target() {
  const t = { busy: false, slow: false, writes: [] as number[], pending: 0 };
  const gate = new FlushGate(
    {
      busy: () => t.busy,
      slow: () => t.slow,
      write: () => {
        t.writes.push(t.pending);
        t.pending = 0;
      },
    },
    250,
  );
  const push = (n = 1) => {
    t.pending += n;
    gate.poke();
  };
  return { t, gate, push };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("FlushGate", () => {
  it("writes to an idle client at the end of the turn, without waiting for the window", () => {
    const { t, push } = target();
    push();
    push();
    expect(t.writes).toEqual([]);
    vi.advanceTimersToNextTimer(); // the setImmediate, not the 250 ms window
    expect(t.writes).toEqual([2]);
    push();
    vi.advanceTimersToNextTimer();
    expect(t.writes).toEqual([2, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("coalesces while the transport has not drained, and writes everything on drain", () => {
    const { t, gate, push } = target();
    t.busy = true;
    for (let i = 0; i < 5; i++) push();
    vi.advanceTimersByTime(100);
    expect(t.writes).toEqual([]);
    t.busy = false;
    gate.drained();
    vi.advanceTimersByTime(0);
    expect(t.writes).toEqual([5]);
    // The window timer was cancelled by the drain: nothing more is written.
    vi.advanceTimersByTime(1000);
    expect(t.writes).toEqual([5]);
  });

  it("writes at the end of the window when the transport stays busy but is not slow", () => {
    const { t, push } = target();
    t.busy = true;
    push(3);
    vi.advanceTimersByTime(249);
    expect(t.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.writes).toEqual([3]);
  });

  it("does not write to a slow client until it drains; the bounded buffer holds meanwhile", () => {
    const { t, gate, push } = target();
    t.busy = true;
    t.slow = true;
    push(7);
    vi.advanceTimersByTime(2000);
    expect(t.writes).toEqual([]);
    t.busy = false;
    t.slow = false;
    gate.drained();
    vi.advanceTimersByTime(0);
    expect(t.writes).toEqual([7]);
  });

  it("ignores a drain with nothing buffered, and stops after close", () => {
    const { t, gate, push } = target();
    gate.drained();
    vi.advanceTimersByTime(1000);
    expect(t.writes).toEqual([]);
    push();
    gate.close();
    vi.advanceTimersByTime(1000);
    expect(t.writes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
