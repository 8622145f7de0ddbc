// Shared pieces of the fault suite: a system with fixed device-facing ports (so devices reconnect
// to a restarted edge), the edge's outbox depth, and the exactly-once check of the simulator's
// acked log against the cloud's telemetry.db.
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Prepared, prepareSystem } from "../../scripts/system.mjs";
import { metricValue, readAckedLog, tempDir, waitFor } from "../e2e/support.js";
import { freePorts } from "./ports.js";

export interface FaultSystemOptions {
  prefix: string;
  /** env-sensor devices (four metrics each), publishing QoS 1 every `intervalMs`. */
  devices: number;
  intervalMs: number;
  /** Keepalive of the edge's gRPC channel: a dead link is detected within about twice this. */
  keepaliveMs?: number;
  /** Merged into the cloud's config (e.g. `ingest`). */
  cloudOverrides?: Record<string, unknown>;
}

export interface FaultSystem {
  prepared: Prepared;
  mqttPort: number;
  edgeHttpPort: number;
  cloudDataDir: string;
}

/** Writes the configs: fixed MQTT and edge HTTP ports, fast reconnects, a short keepalive. */
export async function prepareFaultSystem(options: FaultSystemOptions): Promise<FaultSystem> {
  const dir = tempDir(options.prefix);
  const [mqttPort, edgeHttpPort] = (await freePorts(2)) as [number, number];
  const prepared = prepareSystem({
    dir,
    scenarioOverrides: {
      duration_s: 0,
      fleets: [{ type: "env-sensor", count: options.devices, id_prefix: "env-", interval_ms: options.intervalMs }],
    },
    cloudOverrides: options.cloudOverrides ?? {},
    edgeOverrides: {
      mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
      http: { host: "127.0.0.1", port: edgeHttpPort },
      uplink: { url: "127.0.0.1:0", keepalive_ms: options.keepaliveMs ?? 1000, backoff_initial_ms: 100, backoff_max_ms: 1000 },
    },
  });
  return { prepared, mqttPort, edgeHttpPort, cloudDataDir: join(dir, "cloud-data") };
}

/** One gauge or counter from the edge's /metrics; undefined while the edge is down. */
export async function edgeMetric(edgeHttpPort: number, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${edgeHttpPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    return metricValue(await res.text(), name);
  } catch {
    return undefined;
  }
}

/** Waits until the edge's outbox is empty twice in a row (nothing waits for the cloud's ack). */
export async function waitForDrain(edgeHttpPort: number, timeoutMs = 60_000): Promise<void> {
  let emptyBefore = false;
  await waitFor(
    "the edge outbox to drain",
    async () => {
      const depth = await edgeMetric(edgeHttpPort, "bv_edge_outbox_readings");
      const empty = depth === 0;
      const done = empty && emptyBefore;
      emptyBefore = empty;
      return done || undefined;
    },
    timeoutMs,
    250,
  );
}

/** One gauge or counter from the cloud's /metrics. */
export async function cloudMetric(httpPort: number, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2000) });
  return metricValue(await res.text(), name);
}

/** Waits until the edge reports its uplink session up (or down); resolves with the ms it took. */
export async function waitForUplink(edgeHttpPort: number, connected: boolean, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    `the edge uplink to be ${connected ? "connected" : "detected down"}`,
    async () => ((await edgeMetric(edgeHttpPort, "bv_edge_uplink_connected")) === (connected ? 1 : 0) ? true : undefined),
    timeoutMs,
    50,
  );
  return Date.now() - started;
}

export interface StoredRow {
  edgeId: string;
  seq: number;
  deviceId: string;
  deviceTimeMs: number | null;
  values: string;
}

/** Every reading in the cloud's telemetry.db, read-only (stop the cloud first, or read a WAL snapshot). */
export function readStore(cloudDataDir: string): StoredRow[] {
  const file = join(cloudDataDir, "telemetry.db");
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        "SELECT edge_id AS edgeId, seq, device_id AS deviceId, device_time_ms AS deviceTimeMs, values_json AS [values] FROM readings",
      )
      .all() as StoredRow[];
  } finally {
    db.close();
  }
}

/**
 * Where the cloud's rollups disagree with its raw readings: per (device, metric), the readings'
 * count and sum of numeric values (booleans as 1/0) against the 1-hour rollups' count and sum.
 * Rollups are written apart from the readings (sqlite-rollups.ts) and must still count each reading
 * exactly once after every kill; `pending` is what no fold has written yet (0 after a clean stop).
 */
export function checkRollups(cloudDataDir: string): { series: number; pending: number; mismatches: string[] } {
  const db = new Database(join(cloudDataDir, "telemetry.db"), { readonly: true, fileMustExist: true });
  try {
    const raw = db
      .prepare(
        `SELECT device_id AS device, j.key AS metric, count(*) AS n,
           sum(CASE j.type WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE j.value END) AS s
         FROM readings, json_each(values_json) AS j WHERE j.type IN ('integer', 'real', 'true', 'false') GROUP BY 1, 2`,
      )
      .all() as { device: string; metric: string; n: number; s: number }[];
    const rolled = new Map(
      (
        db.prepare("SELECT device_id AS device, metric, sum(count) AS n, sum(sum) AS s FROM rollup_1h GROUP BY 1, 2").all() as {
          device: string;
          metric: string;
          n: number;
          s: number;
        }[]
      ).map((r) => [`${r.device}/${r.metric}`, r]),
    );
    const mismatches: string[] = [];
    for (const r of raw) {
      const key = `${r.device}/${r.metric}`;
      const got = rolled.get(key);
      rolled.delete(key);
      if (!got || got.n !== r.n || Math.abs(got.s - r.s) > 1e-6 * Math.max(1, Math.abs(r.s)))
        mismatches.push(`${key}: readings ${r.n} (sum ${r.s}), rollup ${got?.n ?? 0} (sum ${got?.s ?? 0})`);
    }
    for (const [key, got] of rolled) mismatches.push(`${key}: no readings, rollup ${got.n}`);
    const pending = db.prepare("SELECT count(*) FROM rollup_pending").pluck().get() as number;
    return { series: raw.length, pending, mismatches };
  } finally {
    db.close();
  }
}

/** Values as one comparable string, whatever the key order. */
function canonical(values: Record<string, unknown>): string {
  return JSON.stringify(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface ExactlyOnceReport {
  acked: number;
  stored: number;
  /** Acked readings with no row in the store: lost. */
  missing: string[];
  /** (device, device time) keys stored more than once, with the count. */
  duplicates: string[];
  /** Acked readings stored with other values than the device sent. */
  wrongValues: string[];
  /** Stored readings the simulator never saw acknowledged (e.g. committed, then the sim stopped). */
  unacked: number;
}

/**
 * Compares the acked log with the store: every acknowledged (device, device time) is stored exactly
 * once with the values sent, and no (device, device time) is stored twice, acknowledged or not.
 * (edge, seq) is the store's primary key, so a duplicate can only show as a repeated device key.
 */
export function checkExactlyOnce(ackedLogFile: string, rows: readonly StoredRow[]): ExactlyOnceReport {
  const acked = readAckedLog(ackedLogFile);
  const stored = new Map<string, StoredRow[]>();
  for (const row of rows) {
    const key = `${row.deviceId}@${row.deviceTimeMs}`;
    const list = stored.get(key);
    if (list) list.push(row);
    else stored.set(key, [row]);
  }
  const report: ExactlyOnceReport = { acked: acked.length, stored: rows.length, missing: [], duplicates: [], wrongValues: [], unacked: 0 };
  const ackedKeys = new Set<string>();
  for (const line of acked) {
    const key = `${line.deviceId}@${line.ts}`;
    if (ackedKeys.has(key)) throw new Error(`the acked log has ${key} twice: the simulator broke its own contract`);
    ackedKeys.add(key);
    const found = stored.get(key);
    if (!found) report.missing.push(`${key} (n=${line.n})`);
    else if (found.some((r) => canonical(JSON.parse(r.values) as Record<string, unknown>) !== canonical(line.values)))
      report.wrongValues.push(key);
  }
  for (const [key, list] of stored) {
    if (list.length > 1) report.duplicates.push(`${key} ×${list.length} (seqs ${list.map((r) => r.seq).join(",")})`);
    if (!ackedKeys.has(key)) report.unacked += 1;
  }
  return report;
}

/** A short, printable summary; the lists are cut to their first few entries. */
export function describeReport(r: ExactlyOnceReport): string {
  const few = (xs: string[]) => (xs.length > 5 ? `${xs.slice(0, 5).join("; ")}; … (${xs.length})` : xs.join("; "));
  return [
    `acked ${r.acked}, stored ${r.stored}, stored-not-acked ${r.unacked}`,
    `missing ${r.missing.length}${r.missing.length ? `: ${few(r.missing)}` : ""}`,
    `duplicates ${r.duplicates.length}${r.duplicates.length ? `: ${few(r.duplicates)}` : ""}`,
    `wrong values ${r.wrongValues.length}${r.wrongValues.length ? `: ${few(r.wrongValues)}` : ""}`,
  ].join("\n");
}

/** Waits for `n` ms of wall time, for pacing faults (never to wait for a condition). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { waitFor };
