/** A device's committed readings as an async iterator (the deviceReadings subscription), from the bus. */
import type { EventBus } from "../../platform/event-bus.js";
import type { Value } from "../../platform/events.js";

export interface LiveReading {
  readonly edgeId: string;
  readonly deviceId: string;
  readonly seq: number;
  readonly ts: number;
  readonly values: Readonly<Record<string, Value>>;
}

/** Readings kept for a subscriber that reads slower than they arrive; older ones are dropped. */
const MAX_QUEUED = 1000;

export function liveReadings(bus: EventBus, deviceId: string): AsyncIterableIterator<{ deviceReadings: LiveReading }> {
  const queue: LiveReading[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const off = bus.on("readingsCommitted", (e) => {
    for (const r of e.readings) {
      if (r.deviceId !== deviceId) continue;
      queue.push({ edgeId: e.edgeId, deviceId: r.deviceId, seq: r.seq, ts: r.ts, values: r.values });
      if (queue.length > MAX_QUEUED) queue.shift();
    }
    wake?.();
  });
  const finish = () => {
    done = true;
    off();
    wake?.();
  };
  const iterator: AsyncIterableIterator<{ deviceReadings: LiveReading }> = {
    async next() {
      while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const r = queue.shift();
      return r && !done ? { value: { deviceReadings: r }, done: false } : { value: undefined, done: true };
    },
    async return() {
      finish();
      return { value: undefined, done: true };
    },
    async throw(err) {
      finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
