/**
 * How a reading maps onto InfluxDB line protocol, and back from VictoriaMetrics' export format.
 * Pure conversions, no I/O.
 *
 * A point's identity is its measurement, tag set and timestamp, so a replay writes the same
 * point again and the engine keeps one (InfluxDB overwrites; VictoriaMetrics with
 * -dedup.minScrapeInterval=1ms keeps one sample per millisecond). Tags are stable per reading:
 * device_id, device_type, edge_id; the timestamp is the reading's own time (device time, else
 * edge time), never the arrival time.
 *
 * - measurement `bv`: fields `seq`, `edge_time_ms`, `received_at`, `device_time_ms` (when the
 *   device stamped one), `n_<metric>` for numbers, `b_<metric>` for booleans.
 * - measurement `bv_text`: one point per text value, with `metric` and `value` as tags and the
 *   reading's `seq` as field: VictoriaMetrics stores numbers only, so text lives in a tag.
 *
 * Lines are written as strings (toLines), the same lines the client's Point would produce.
 *
 * Limit (documented in cloud/README.md): two readings of one device from one edge stamped with
 * the same millisecond are one point; the later write wins.
 */
import type { NewReading, StoredReading, TelemetryValue } from "./telemetry-store.js";
import { readingTs } from "./telemetry-store.js";

export const MEASUREMENT = "bv";
export const TEXT_MEASUREMENT = "bv_text";

// Line protocol escaping (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#special-characters):
// in tag keys, tag values and field keys commas, equals signs and spaces are escaped; line breaks too,
// the way @influxdata/influxdb-client escapes them.
const TAG_SPECIAL = /[,= \n\r\t]/;
const TAG_ESCAPES: Record<string, string> = { ",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escapeTag = (s: string) => (TAG_SPECIAL.test(s) ? s.replace(/[,= \n\r\t]/g, (c) => TAG_ESCAPES[c] ?? c) : s);

/**
 * The line-protocol lines of one reading (timestamps in ms): built as strings, not through the
 * client's Point objects, because encoding is most of a commit's CPU (bench/RESULTS.md). Tags in
 * sorted order; `scope` is the store's deployment tag, if any. Non-finite numbers have no
 * line-protocol form and are left out, as the client's Point does.
 */
export function toLines(edgeId: string, r: NewReading, receivedAt: number, scope?: string): string[] {
  const ts = readingTs(r);
  const tags = `,device_id=${escapeTag(r.deviceId)},device_type=${escapeTag(r.deviceType)},edge_id=${escapeTag(edgeId)}`;
  const scopeTag = scope ? `,scope=${escapeTag(scope)}` : "";
  let fields = `edge_time_ms=${r.edgeTimeMs},received_at=${receivedAt},seq=${r.seq}`;
  if (r.deviceTimeMs !== undefined) fields += `,device_time_ms=${r.deviceTimeMs}`;
  const lines = [""];
  for (const metric in r.values) {
    const value = r.values[metric];
    if (typeof value === "number") {
      if (Number.isFinite(value)) fields += `,n_${escapeTag(metric)}=${value}`;
    } else if (typeof value === "boolean") fields += `,b_${escapeTag(metric)}=${value ? "T" : "F"}`;
    else if (typeof value === "string")
      lines.push(`${TEXT_MEASUREMENT}${tags},metric=${escapeTag(metric)}${scopeTag},value=${escapeTag(value)} seq=${r.seq} ${ts}`);
  }
  lines[0] = `${MEASUREMENT}${tags}${scopeTag} ${fields} ${ts}`;
  return lines;
}

/** One line of VictoriaMetrics' /api/v1/export (JSON lines). */
export interface ExportedSeries {
  readonly metric: Record<string, string>;
  readonly values: (number | null)[];
  readonly timestamps: number[];
}

export function parseExport(text: string): ExportedSeries[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ExportedSeries);
}

interface Draft {
  edgeId: string;
  deviceId: string;
  deviceType: string;
  ts: number;
  seq?: number;
  edgeTimeMs?: number;
  receivedAt?: number;
  deviceTimeMs?: number;
  values: Record<string, TelemetryValue>;
}

/** Reassembles readings (one per edge and timestamp) from the exported series of one device. */
export function toReadings(series: readonly ExportedSeries[]): StoredReading[] {
  const drafts = new Map<string, Draft>();
  for (const s of series) {
    const name = s.metric.__name__ ?? "";
    const edgeId = s.metric.edge_id ?? "";
    s.timestamps.forEach((ts, i) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const key = `${edgeId}\u0000${ts}`;
      let d = drafts.get(key);
      if (!d) {
        d = { edgeId, deviceId: s.metric.device_id ?? "", deviceType: s.metric.device_type ?? "", ts, values: {} };
        drafts.set(key, d);
      }
      if (name === `${MEASUREMENT}_seq`) d.seq = v;
      else if (name === `${MEASUREMENT}_edge_time_ms`) d.edgeTimeMs = v;
      else if (name === `${MEASUREMENT}_received_at`) d.receivedAt = v;
      else if (name === `${MEASUREMENT}_device_time_ms`) d.deviceTimeMs = v;
      else if (name.startsWith(`${MEASUREMENT}_n_`)) d.values[name.slice(MEASUREMENT.length + 3)] = v;
      else if (name.startsWith(`${MEASUREMENT}_b_`)) d.values[name.slice(MEASUREMENT.length + 3)] = v !== 0;
      else if (name === `${TEXT_MEASUREMENT}_seq` && s.metric.metric !== undefined) d.values[s.metric.metric] = s.metric.value ?? "";
    });
  }
  const out: StoredReading[] = [];
  for (const d of drafts.values()) {
    // A timestamp with no `seq` sample is not a reading this store wrote.
    if (d.seq === undefined) continue;
    out.push({
      edgeId: d.edgeId,
      seq: d.seq,
      deviceId: d.deviceId,
      deviceType: d.deviceType,
      ts: d.ts,
      deviceTimeMs: d.deviceTimeMs ?? null,
      edgeTimeMs: d.edgeTimeMs ?? d.ts,
      receivedAt: d.receivedAt ?? d.ts,
      values: d.values,
    });
  }
  return out.sort((a, b) => a.ts - b.ts || (a.edgeId < b.edgeId ? -1 : a.edgeId > b.edgeId ? 1 : 0) || a.seq - b.seq);
}

/** Escapes a label value for a MetricsQL series selector. */
export function quoteLabel(value: string): string {
  return JSON.stringify(value);
}
