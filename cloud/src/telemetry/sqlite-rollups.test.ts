/**
 * Deferred rollups (sqlite-rollups.ts) are exact across a crash: a store process is killed with
 * SIGKILL while folds are pending, some already written, and the next open writes exactly what
 * was missing. Also a file from before deferred rollups opens, keeps its rollups and folds new
 * readings. The process under test is the compiled store (dist), as the cloud runs it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import SqliteDatabase from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DeferredRollups, ROLLUP_SLOTS } from "./sqlite-rollups.js";
import { SqliteTelemetryStore } from "./sqlite-store.js";
import type { NewReading } from "./telemetry-store.js";

const STORE = fileURLToPath(new URL("../../dist/telemetry/sqlite-store.js", import.meta.url));
const T0 = Date.UTC(2025, 0, 1);

/** Batch `b` of an edge: 50 devices, two metrics; seqs 1… per edge, 30 s apart per device. */
function batch(edge: number, b: number): NewReading[] {
  return Array.from({ length: 100 }, (_, i) => {
    const seq = b * 100 + i + 1;
    return {
      seq,
      deviceId: `e${edge}-d${i % 50}`,
      deviceType: "env-sensor",
      values: { co2: 400 + ((seq * 7) % 300), temperature: 15 + (seq % 11), label: `s${seq}` },
      edgeTimeMs: T0 + Math.floor(seq / 50) * 30_000,
    };
  });
}

/** The 1-minute rollup of one device and metric, computed from the readings themselves. */
function expected(readings: readonly NewReading[], deviceId: string, metric: "co2" | "temperature") {
  const buckets = new Map<number, { min: number; max: number; sum: number; count: number }>();
  for (const r of readings) {
    if (r.deviceId !== deviceId) continue;
    const v = r.values[metric] as number;
    const bucket = r.edgeTimeMs - (r.edgeTimeMs % 60_000);
    const b = buckets.get(bucket) ?? { min: v, max: v, sum: 0, count: 0 };
    Object.assign(b, { min: Math.min(b.min, v), max: Math.max(b.max, v), sum: b.sum + v, count: b.count + 1 });
    buckets.set(bucket, b);
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([ts, b]) => ({ ts, min: b.min, max: b.max, avg: b.sum / b.count, count: b.count }));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("SqliteTelemetryStore deferred rollups", () => {
  it("are exact after the process is killed (SIGKILL) with folds pending, some already written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-rollups-"));
    dirs.push(dir);
    // The child commits 6 batches per edge; after the third, a query writes the folds of e1-d0's edge.
    const script = `
      const { SqliteTelemetryStore } = await import(${JSON.stringify(STORE)});
      const batch = ${batch.toString()};
      const T0 = ${T0};
      const store = SqliteTelemetryStore.open(${JSON.stringify(dir)});
      for (let b = 0; b < 6; b++) {
        for (const edge of [1, 2]) await store.commitBatch("edge-" + edge, batch(edge, b));
        if (b === 2) await store.series("e1-d0", "co2", { resolution: "1m" });
      }
      process.stdout.write("committed\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("committed") && resolve());
      child.on("exit", (code) => reject(new Error(`the store process exited (${code}) before committing`)));
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    const all = [1, 2].flatMap((edge) => Array.from({ length: 6 }, (_, b) => batch(edge, b)).flat());
    const raw = new SqliteDatabase(join(dir, "telemetry.db"), { readonly: true });
    const pending = raw.prepare("SELECT count(*) FROM rollup_pending").pluck().get() as number;
    raw.close();
    expect(pending).toBeGreaterThan(0); // the kill came while folds were pending

    for (let open = 0; open < 2; open++) {
      const store = SqliteTelemetryStore.open(dir);
      for (const device of ["e1-d0", "e1-d49", "e2-d7"]) {
        expect(await store.series(device, "co2", { resolution: "1m" })).toEqual(expected(all, device, "co2"));
        expect(await store.series(device, "temperature", { resolution: "1m" })).toEqual(expected(all, device, "temperature"));
      }
      const last = all.filter((r) => r.deviceId === "e2-d7").at(-1)!;
      expect(await store.latest("e2-d7")).toEqual({
        co2: { value: last.values.co2, ts: last.edgeTimeMs },
        temperature: { value: last.values.temperature, ts: last.edgeTimeMs },
        label: { value: last.values.label, ts: last.edgeTimeMs },
      });
      // Replays after the restart are duplicates and change nothing.
      expect((await store.commitBatch("edge-1", batch(1, 4))).duplicates).toBe(100);
      await store.close();
    }
  }, 30_000);

  it("re-reads an edge's folds from the table when one of its commits fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-rollups-"));
    dirs.push(dir);
    const store = SqliteTelemetryStore.open(dir);
    const [a, c] = [batch(1, 0), batch(1, 9)];
    await store.commitBatch("edge-1", a);
    // A value SQLite cannot bind fails the group after its first chunk (500 readings) was inserted and folded.
    const group = [1, 2, 3, 4, 5, 6].map((b) => batch(1, b));
    const bad = [{ ...batch(1, 7)[0]!, deviceType: {} as unknown as string }];
    await expect(store.commitBatches("edge-1", [...group, bad])).rejects.toThrow();
    await store.commitBatch("edge-1", c);
    for (const device of ["e1-d0", "e1-d49"])
      expect(await store.series(device, "co2", { resolution: "1m" })).toEqual(expected([...a, ...c], device, "co2"));
    await store.close();
  });

  it("writes each fold once in the periodic round, an edge's shards in turns spread over it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-rollups-"));
    dirs.push(dir);
    await SqliteTelemetryStore.open(dir).close();
    const db = new SqliteDatabase(join(dir, "telemetry.db"));
    const rollups = new DeferredRollups(db);
    db.transaction(() => {
      for (const r of batch(1, 0)) rollups.add(rollups.fold("edge-1", r.deviceId), r.seq, r.deviceId, r.edgeTimeMs, r.values);
      rollups.mark("edge-1");
    })();
    const pending = db.prepare("SELECT count(*) FROM rollup_pending").pluck();
    const folds = pending.get() as number;
    expect(folds).toBe(8);
    const turns: number[] = [];
    for (let slot = 0; slot < ROLLUP_SLOTS; slot++) {
      rollups.queueSlot(slot);
      if (rollups.queued > 0) turns.push(slot);
      expect(rollups.queued).toBeLessThanOrEqual(1);
      while (rollups.writeNext());
    }
    expect(pending.get()).toBe(0);
    expect(turns).toHaveLength(folds);
    // Evenly apart, around the round.
    const gaps = turns.map((t, i) => (turns[(i + 1) % turns.length]! - t + ROLLUP_SLOTS) % ROLLUP_SLOTS || ROLLUP_SLOTS);
    expect(new Set(gaps)).toEqual(new Set([ROLLUP_SLOTS / folds]));
    db.close();
  });

  it("opens a file from before deferred rollups, keeps its rollups and folds new readings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bv-rollups-"));
    dirs.push(dir);
    const old = new SqliteDatabase(join(dir, "telemetry.db"));
    old.exec(`
      CREATE TABLE readings (edge_id TEXT NOT NULL, seq INTEGER NOT NULL, device_id TEXT NOT NULL, device_type TEXT NOT NULL,
        ts INTEGER NOT NULL, device_time_ms INTEGER, edge_time_ms INTEGER NOT NULL, received_at INTEGER NOT NULL,
        values_json TEXT NOT NULL, PRIMARY KEY (edge_id, seq)) WITHOUT ROWID;
      CREATE TABLE rollup_1m (device_id TEXT NOT NULL, metric TEXT NOT NULL, bucket INTEGER NOT NULL,
        min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (device_id, metric, bucket)) WITHOUT ROWID;
      INSERT INTO readings VALUES ('edge-1', 1, 'd', 'env-sensor', ${T0}, NULL, ${T0}, ${T0}, '{"co2":500}');
      INSERT INTO rollup_1m VALUES ('d', 'co2', ${T0}, 500, 500, 500, 1);
    `);
    old.close();
    const store = SqliteTelemetryStore.open(dir);
    const next = { seq: 2, deviceId: "d", deviceType: "env-sensor", values: { co2: 700 }, edgeTimeMs: T0 + 1000 };
    expect((await store.commitBatch("edge-1", [next])).inserted).toBe(1);
    expect(await store.series("d", "co2", { resolution: "1m" })).toEqual([{ ts: T0, min: 500, max: 700, avg: 600, count: 2 }]);
    await store.close();
  });
});
