import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteTelemetryStore } from "./sqlite-store.js";
import { telemetryStoreContract } from "./telemetry-store.contract.js";

let dir = "";
telemetryStoreContract("sqlite", {
  async open() {
    dir = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    return SqliteTelemetryStore.open(dir);
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

describe("SqliteTelemetryStore on disk", () => {
  it("keeps committed readings and rollups across a reopen, and still de-duplicates", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const first = SqliteTelemetryStore.open(d);
      const r = { seq: 1, deviceId: "d", deviceType: "env-sensor", values: { co2: 500 }, edgeTimeMs: 1_700_000_000_000 };
      await first.commitBatch("e", [r]);
      await first.close();
      const second = SqliteTelemetryStore.open(d);
      expect((await second.commitBatch("e", [r])).duplicates).toBe(1);
      expect((await second.series("d", "co2", { resolution: "1h" }))[0]?.count).toBe(1);
      await second.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("SqliteTelemetryStore integer keys", () => {
  const T0 = Date.UTC(2025, 0, 1);
  const reading = (seq: number, deviceId: string, co2: number, deviceTimeMs?: number) => ({
    seq,
    deviceId,
    deviceType: "env-sensor",
    values: { co2 },
    edgeTimeMs: T0 + seq * 1000,
    deviceTimeMs,
  });

  it("moves the readings of a file with text ids, with their pending rollups, and de-duplicates against them", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const old = new SqliteDatabase(join(d, "telemetry.db"));
      // The layout before integer keys, with one reading folded (gen 0) and one whose fold was never written (gen 3).
      old.exec(`
        CREATE TABLE readings (edge_id TEXT NOT NULL, seq INTEGER NOT NULL, device_id TEXT NOT NULL, device_type TEXT NOT NULL,
          ts INTEGER NOT NULL, device_time_ms INTEGER, edge_time_ms INTEGER NOT NULL, received_at INTEGER NOT NULL,
          values_json TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (edge_id, seq)) WITHOUT ROWID;
        CREATE INDEX readings_by_device_ts ON readings (device_id, ts);
        CREATE TABLE rollup_1m (device_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
          min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (device_id, metric, bucket)) WITHOUT ROWID;
        CREATE TABLE rollup_pending (gen INTEGER NOT NULL, edge_id TEXT NOT NULL, min_seq INTEGER NOT NULL,
          max_seq INTEGER NOT NULL, PRIMARY KEY (edge_id, gen)) WITHOUT ROWID;
        CREATE TABLE telemetry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO readings VALUES ('edge-1', 1, 'd-a', 'env-sensor', ${T0}, NULL, ${T0}, ${T0}, '{"co2":500}', 0);
        INSERT INTO readings VALUES ('edge-1', 2, 'd-a', 'env-sensor', ${T0 + 5}, ${T0 + 5}, ${T0 + 9}, ${T0 + 9}, '{"co2":700}', 3);
        INSERT INTO readings VALUES ('edge-2', 1, 'd-b', 'env-sensor', ${T0 + 7}, NULL, ${T0 + 7}, ${T0 + 7}, '{"co2":900}', 0);
        INSERT INTO rollup_1m VALUES ('d-a', 'co2', ${T0}, 500, 500, 500, 1), ('d-b', 'co2', ${T0}, 900, 900, 900, 1);
        INSERT INTO rollup_pending VALUES (3, 'edge-1', 2, 2);
        INSERT INTO telemetry_meta VALUES ('gen', 3);
      `);
      old.close();
      const store = SqliteTelemetryStore.open(d);
      expect((await store.readings("d-a", {})).map((r) => [r.edgeId, r.seq, r.deviceTimeMs, r.values.co2])).toEqual([
        ["edge-1", 1, null, 500],
        ["edge-1", 2, T0 + 5, 700],
      ]);
      expect(await store.series("d-a", "co2", { resolution: "1m" })).toEqual([{ ts: T0, min: 500, max: 700, avg: 600, count: 2 }]);
      // The same (edge, seq), and the same device time and values under a new seq, are duplicates.
      expect(await store.commitBatch("edge-1", [reading(2, "d-a", 1), reading(9, "d-a", 700, T0 + 5)])).toMatchObject({
        inserted: 0,
        duplicates: 2,
      });
      expect((await store.commitBatch("edge-2", [reading(2, "d-b", 1000)])).inserted).toBe(1);
      expect((await store.series("d-b", "co2", { resolution: "1m" }))[0]).toMatchObject({ count: 2, min: 900, max: 1000 });
      await store.close();
      const file = new SqliteDatabase(join(d, "telemetry.db"), { readonly: true });
      // Ad-hoc SQL on the text ids still works: `readings` is a view now.
      expect(file.prepare("SELECT type FROM sqlite_master WHERE name = 'readings'").pluck().get()).toBe("view");
      expect(file.prepare("SELECT count(*) FROM readings WHERE edge_id = 'edge-2'").pluck().get()).toBe(2);
      file.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("keeps no key of a transaction that rolled back", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const store = SqliteTelemetryStore.open(d);
      const bad = { ...reading(2, "d-y", 1), deviceType: {} as unknown as string };
      // edge-x, d-x and d-y take keys 1, 1 and 2 in a transaction that rolls back.
      await expect(store.commitBatch("edge-x", [reading(1, "d-x", 1), bad])).rejects.toThrow();
      // The next new ids take the same integers.
      expect((await store.commitBatch("edge-q", [reading(1, "d-q", 5)])).inserted).toBe(1);
      expect((await store.commitBatch("edge-x", [reading(1, "d-x", 7)])).inserted).toBe(1);
      expect((await store.readings("d-x", {})).map((r) => [r.edgeId, r.deviceId, r.values.co2])).toEqual([["edge-x", "d-x", 7]]);
      expect((await store.readings("d-q", {})).map((r) => [r.edgeId, r.deviceId, r.values.co2])).toEqual([["edge-q", "d-q", 5]]);
      await store.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("SqliteTelemetryStore group commit", () => {
  const T0 = Date.UTC(2025, 0, 1);
  const r = (seq: number, device: string, co2: number, patch: { deviceTimeMs?: number; edgeTimeMs?: number } = {}) => ({
    seq,
    deviceId: device,
    deviceType: "env-sensor",
    values: { co2, door: co2 % 2 === 0 },
    edgeTimeMs: T0 + seq * 1000,
    ...patch,
  });
  // Over the 500-row chunk, with duplicates inside a batch, across batches and against stored rows,
  // and a device's re-sent reading (same device time and values, new seq) inside one chunk.
  const batches = [
    Array.from({ length: 700 }, (_, i) => r(i + 1, `d-${i % 7}`, 400 + (i % 90))),
    [r(5, "d-5", 1), r(701, "d-1", 500), r(701, "d-1", 501), r(702, "d-2", 600, { deviceTimeMs: T0 + 5 })],
    [r(703, "d-2", 600, { deviceTimeMs: T0 + 5 }), r(704, "d-3", 700), ...Array.from({ length: 600 }, (_, i) => r(800 + i, "d-4", i))],
  ];

  it("commits several batches in one transaction exactly as one commit per batch would", async () => {
    const dirs = [mkdtempSync(join(tmpdir(), "bv-telemetry-")), mkdtempSync(join(tmpdir(), "bv-telemetry-"))];
    try {
      const grouped = SqliteTelemetryStore.open(dirs[0]!);
      const single = SqliteTelemetryStore.open(dirs[1]!);
      await grouped.commitBatch("e", [r(3, "d-3", 403), r(900, "d-4", 100)]);
      await single.commitBatch("e", [r(3, "d-3", 403), r(900, "d-4", 100)]);
      const results = await grouped.commitBatches("e", batches);
      const expected = [];
      for (const b of batches) expected.push(await single.commitBatch("e", b));
      expect(results).toEqual(expected);
      expect(results.map((x) => x.inserted)).toEqual([699, 2, 600]);
      expect(results[1]?.insertedSeqs).toEqual([701, 702]);
      for (let d = 0; d < 7; d++) {
        for (const metric of ["co2", "door"])
          for (const resolution of ["1m", "1h"] as const)
            expect(await grouped.series(`d-${d}`, metric, { resolution })).toEqual(await single.series(`d-${d}`, metric, { resolution }));
        expect(await grouped.latest(`d-${d}`)).toEqual(await single.latest(`d-${d}`));
        expect((await grouped.readings(`d-${d}`, { limit: 10_000 })).map((x) => [x.seq, x.values])).toEqual(
          (await single.readings(`d-${d}`, { limit: 10_000 })).map((x) => [x.seq, x.values]),
        );
      }
      const hour = await grouped.series("d-4", "co2", { resolution: "1h" });
      // seq 900 was stored before the group: 599 of the last batch's 600 are new.
      expect(hour.reduce((n, p) => n + p.count, 0)).toBe(1 + 100 + 599);
      await grouped.close();
      await single.close();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it("commits the commits of several edges in one turn together, and a bad one fails alone", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const store = SqliteTelemetryStore.open(d);
      const bad = [{ ...r(1, "d-9", 1), deviceType: {} as unknown as string }];
      const [a, b, c] = await Promise.allSettled([
        store.commitBatch("edge-a", [r(1, "d-1", 401), r(2, "d-1", 402)]),
        store.commitBatch("edge-b", bad),
        store.commitBatches("edge-c", [[r(1, "d-2", 403)], [r(1, "d-2", 404), r(2, "d-2", 405)]]),
      ]);
      expect(a).toMatchObject({ status: "fulfilled", value: { inserted: 2, insertedSeqs: [1, 2] } });
      expect(b.status).toBe("rejected");
      expect(c).toMatchObject({ status: "fulfilled", value: [{ inserted: 1 }, { inserted: 1, duplicates: 1, insertedSeqs: [2] }] });
      expect((await store.readings("d-1", {})).map((x) => x.values.co2)).toEqual([401, 402]);
      expect(await store.readings("d-9", {})).toEqual([]);
      expect((await store.series("d-2", "co2", { resolution: "1h" }))[0]).toMatchObject({ count: 2, min: 403, max: 405 });
      await store.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("commits nothing of the group when the transaction fails", async () => {
    const d = mkdtempSync(join(tmpdir(), "bv-telemetry-"));
    try {
      const store = SqliteTelemetryStore.open(d);
      // A value SQLite cannot bind fails the second batch after the first chunk (500 rows) was inserted.
      const bad = [{ ...r(2000, "d-1", 1), deviceType: {} as unknown as string }];
      const first = Array.from({ length: 600 }, (_, i) => r(1000 + i, "d-1", i));
      await expect(store.commitBatches("e", [first, bad])).rejects.toThrow();
      expect(await store.readings("d-1", {})).toEqual([]);
      expect(await store.series("d-1", "co2", { resolution: "1m" })).toEqual([]);
      await store.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
