/**
 * The shared contract every TelemetryStore must pass (after aedes-persistence's abstract suite).
 * Call it from an implementation's test file with a factory that opens a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewReading, TelemetryStore } from "./telemetry-store.js";

export interface StoreFactory {
  open(): Promise<TelemetryStore>;
  cleanup?(): Promise<void>;
  /**
   * Whether two readings of one device from one edge stamped with the same millisecond are kept
   * apart. Engines whose point identity is (tags, timestamp) keep one (a documented limit).
   */
  readonly keepsSameTimestampReadings?: boolean;
  /**
   * Whether a commit recognises readings an earlier commit stored and reports them as duplicates.
   * A store whose writes are idempotent by point identity (the line-protocol store) rewrites them
   * instead and reports them as inserted; what it holds afterwards is the same, and that is checked
   * either way. Such a store also cannot refuse a reused seq with different content (the edge never
   * reuses one): the rewrite replaces the point.
   */
  readonly recognisesRewrites?: boolean;
}

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0); // a bucket boundary for both 1m and 1h

function reading(seq: number, patch: Partial<NewReading> = {}): NewReading {
  return {
    seq,
    deviceId: "dev-1",
    deviceType: "env-sensor",
    values: { temperature: 20 + seq, humidity: 50 },
    edgeTimeMs: T0 + seq * 1000,
    ...patch,
  };
}

export function telemetryStoreContract(name: string, factory: StoreFactory): void {
  const recognises = factory.recognisesRewrites !== false;
  describe(`TelemetryStore contract: ${name}`, () => {
    let store: TelemetryStore;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close();
      await factory.cleanup?.();
    });

    it("commits a batch and reports inserted seqs", async () => {
      const result = await store.commitBatch("edge-1", [reading(1), reading(2), reading(3)]);
      expect(result).toEqual({ inserted: 3, duplicates: 0, insertedSeqs: [1, 2, 3] });
      const rows = await store.readings("dev-1", {});
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(rows[0]).toMatchObject({ edgeId: "edge-1", deviceType: "env-sensor", values: { temperature: 21, humidity: 50 } });
    });

    it("is idempotent by (edgeId, seq): a replayed batch inserts nothing", async () => {
      await store.commitBatch("edge-1", [reading(1), reading(2)]);
      const again = await store.commitBatch("edge-1", [reading(1), reading(2)]);
      if (recognises) expect(again).toEqual({ inserted: 0, duplicates: 2, insertedSeqs: [] });
      expect((await store.readings("dev-1", {})).map((r) => r.seq)).toEqual([1, 2]);
    });

    it("de-duplicates across batches in any arrival order and within one batch", async () => {
      await store.commitBatch("edge-1", [reading(5), reading(3)]);
      const mixed = await store.commitBatch("edge-1", [reading(4), reading(5), reading(1), reading(3), reading(4)]);
      if (recognises) {
        expect(mixed.inserted).toBe(2);
        expect(mixed.duplicates).toBe(3);
        expect(mixed.insertedSeqs).toEqual([4, 1]);
      } else {
        // 4 and 1 are new; 5 and 3 may be reported either way; the repeated 4 is one reading.
        expect(mixed.insertedSeqs).toEqual(expect.arrayContaining([4, 1]));
        expect(new Set(mixed.insertedSeqs).size).toBe(mixed.inserted);
        expect(mixed.inserted + mixed.duplicates).toBe(5);
      }
      expect((await store.readings("dev-1", {})).map((r) => r.seq)).toEqual([1, 3, 4, 5]);
    });

    it("stores a device's re-sent reading (same device time and values, new seq) once", async () => {
      const sent = { deviceTimeMs: T0 + 500, values: { temperature: 21.5, humidity: 40 } };
      await store.commitBatch("edge-1", [reading(1, sent)]);
      // After an edge crash between commit and PUBACK the device re-sends; the edge gives it seq 7.
      const again = await store.commitBatch("edge-1", [reading(7, { ...sent, edgeTimeMs: T0 + 9000 }), reading(8, sent)]);
      if (recognises) expect(again).toEqual({ inserted: 0, duplicates: 2, insertedSeqs: [] });
      // Either way 7 and 8 are the same reading as each other.
      else expect(again.duplicates).toBe(1);
      // Another device is a different reading; so is another value at the same device time, where
      // the engine can hold two readings of one device in one millisecond.
      const sameTime = factory.keepsSameTimestampReadings !== false;
      const other = await store.commitBatch("edge-1", [
        ...(sameTime ? [reading(9, { ...sent, values: { temperature: 22, humidity: 40 } })] : []),
        reading(10, { ...sent, deviceId: "dev-2" }),
      ]);
      if (recognises) expect(other.insertedSeqs).toEqual(sameTime ? [9, 10] : [10]);
      const stored = await store.readings("dev-1", {});
      // A rewrite keeps one point, carrying the seq of one of the writes (1, 7 or 8).
      if (recognises) expect(stored.map((r) => r.seq)).toEqual(sameTime ? [1, 9] : [1]);
      else expect(stored.map((r) => r.values)).toEqual(sameTime ? [sent.values, { temperature: 22, humidity: 40 }] : [sent.values]);
      const [minute] = await store.series("dev-1", "humidity", { resolution: "1m" });
      expect(minute?.count).toBe(sameTime ? 2 : 1);
    });

    it("keeps the same seq from different edges apart", async () => {
      await store.commitBatch("edge-1", [reading(1)]);
      const other = await store.commitBatch("edge-2", [reading(1)]);
      expect(other.inserted).toBe(1);
      expect((await store.readings("dev-1", {})).map((r) => r.edgeId).sort()).toEqual(["edge-1", "edge-2"]);
    });

    it("stamps ts with device time when present, else edge time, and keeps all three times", async () => {
      await store.commitBatch("edge-1", [
        reading(1, { deviceTimeMs: T0 - 5000, edgeTimeMs: T0 + 1000, receivedAt: T0 + 2000 }),
        reading(2, { edgeTimeMs: T0 + 3000, receivedAt: T0 + 4000 }),
      ]);
      const [a, b] = await store.readings("dev-1", {});
      expect(a).toMatchObject({ seq: 1, ts: T0 - 5000, deviceTimeMs: T0 - 5000, edgeTimeMs: T0 + 1000, receivedAt: T0 + 2000 });
      expect(b).toMatchObject({ seq: 2, ts: T0 + 3000, deviceTimeMs: null, edgeTimeMs: T0 + 3000, receivedAt: T0 + 4000 });
    });

    it("answers range queries ordered by ts with [from, to) and a limit", async () => {
      // seq order and time order disagree on purpose.
      await store.commitBatch("edge-1", [
        reading(1, { edgeTimeMs: T0 + 30_000 }),
        reading(2, { edgeTimeMs: T0 + 10_000 }),
        reading(3, { edgeTimeMs: T0 + 20_000 }),
        reading(4, { edgeTimeMs: T0 + 40_000, deviceId: "dev-2" }),
      ]);
      expect((await store.readings("dev-1", {})).map((r) => r.seq)).toEqual([2, 3, 1]);
      expect((await store.readings("dev-1", { from: T0 + 10_000, to: T0 + 30_000 })).map((r) => r.seq)).toEqual([2, 3]);
      expect((await store.readings("dev-1", { limit: 1 })).map((r) => r.seq)).toEqual([2]);
      expect(await store.readings("dev-1", { from: T0 + 50_000 })).toEqual([]);
      expect(await store.readings("nobody", {})).toEqual([]);
    });

    it("rolls up min/max/avg/count per minute and hour, counting duplicates once", async () => {
      const values = [10, 30, 20, 40];
      const batch = values.map((v, i) => reading(i + 1, { values: { temperature: v }, edgeTimeMs: T0 + i * 20_000 }));
      await store.commitBatch("edge-1", batch);
      await store.commitBatch("edge-1", batch); // replay: must not double count
      // seq reused with other content: ignored (a store that rewrites by point identity cannot tell).
      if (recognises) await store.commitBatch("edge-1", [reading(2, { values: { temperature: 99 }, edgeTimeMs: T0 + 20_000 })]);
      const minute = await store.series("dev-1", "temperature", { resolution: "1m" });
      expect(minute).toEqual([
        { ts: T0, min: 10, max: 30, avg: 20, count: 3 },
        { ts: T0 + 60_000, min: 40, max: 40, avg: 40, count: 1 },
      ]);
      const hour = await store.series("dev-1", "temperature", { resolution: "1h" });
      expect(hour).toEqual([{ ts: T0, min: 10, max: 40, avg: 25, count: 4 }]);
      const raw = await store.series("dev-1", "temperature", { resolution: "raw", from: T0 + 20_000, to: T0 + 60_000 });
      expect(raw.map((p) => [p.ts, p.avg, p.count])).toEqual([
        [T0 + 20_000, 30, 1],
        [T0 + 40_000, 20, 1],
      ]);
      expect(await store.series("dev-1", "humidity", { resolution: "1m" })).toEqual([]);
    });

    it("selects rollup buckets overlapping the range", async () => {
      await store.commitBatch("edge-1", [
        reading(1, { values: { temperature: 1 }, edgeTimeMs: T0 + 5_000 }),
        reading(2, { values: { temperature: 2 }, edgeTimeMs: T0 + 65_000 }),
        reading(3, { values: { temperature: 3 }, edgeTimeMs: T0 + 125_000 }),
      ]);
      const mid = await store.series("dev-1", "temperature", { resolution: "1m", from: T0 + 30_000, to: T0 + 90_000 });
      expect(mid.map((p) => p.ts)).toEqual([T0, T0 + 60_000]);
    });

    it("keeps the latest value per metric by timestamp, not arrival order", async () => {
      await store.commitBatch("edge-1", [reading(10, { values: { temperature: 25, humidity: 40 }, edgeTimeMs: T0 + 10_000 })]);
      // An older reading replayed later must not overwrite the newer value.
      await store.commitBatch("edge-1", [reading(3, { values: { temperature: 18, humidity: 41 }, edgeTimeMs: T0 + 3_000 })]);
      // A newer reading carrying only one metric updates only that metric.
      await store.commitBatch("edge-1", [reading(11, { values: { humidity: 45 }, edgeTimeMs: T0 + 11_000 })]);
      expect(await store.latest("dev-1")).toEqual({
        temperature: { value: 25, ts: T0 + 10_000 },
        humidity: { value: 45, ts: T0 + 11_000 },
      });
      expect(await store.latest("nobody")).toEqual({});
    });

    it("stores non-numeric values without rolling them up", async () => {
      await store.commitBatch("edge-1", [
        reading(1, { deviceId: "valve-1", deviceType: "valve-actuator", values: { state: "open", relay: true, position: 50 } }),
      ]);
      expect((await store.readings("valve-1", {}))[0]?.values).toEqual({ state: "open", relay: true, position: 50 });
      expect(await store.series("valve-1", "state", { resolution: "1m" })).toEqual([]);
      expect((await store.series("valve-1", "relay", { resolution: "1m" }))[0]).toMatchObject({ min: 1, max: 1, count: 1 });
      expect((await store.latest("valve-1")).state).toEqual({ value: "open", ts: T0 + 1000 });
    });

    it("commits an empty batch as a no-op", async () => {
      expect(await store.commitBatch("edge-1", [])).toEqual({ inserted: 0, duplicates: 0, insertedSeqs: [] });
      expect(await store.check()).toBe(true);
    });
  });
}
