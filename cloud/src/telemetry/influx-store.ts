/**
 * The TelemetryStore on the InfluxDB line protocol (DESIGN.md §5): writes through
 * @influxdata/influxdb-client to any InfluxDB v2 write API (InfluxDB 2, VictoriaMetrics);
 * history is read from VictoriaMetrics (vm-reader.ts).
 *
 * Idempotence by writing, not by asking: a reading always becomes the same points — the same
 * series (measurement and tags: device_id, device_type, edge_id) at the same timestamp (the
 * reading's own time, influx-codec.ts) — so writing it again, by a replay, a retry or a second
 * writer racing the first, rewrites those points and the engine keeps one (VictoriaMetrics with
 * -dedup.minScrapeInterval=1ms keeps one sample per series and millisecond; InfluxDB overwrites).
 * No commit queries the engine first. Rollups are computed at query time from the raw points,
 * so a replay never double counts. What this store cannot always do is tell a first write from a
 * rewrite: duplicates within the batch (by seq or by device + device time + values) and (edge, seq)
 * this process wrote lately are reported as duplicates; anything else is rewritten and reported
 * as inserted. The exact
 * guarantees are in docs/edge-sync.md ("The line-protocol store").
 *
 * Batching: up to WRITES_AT_ONCE HTTP writes (each with its force_flush) in flight; each takes
 * every commit waiting when it starts (group commit: the commits of several streams, or of a
 * store-writer's partitions, that arrived while the running writes were busy; at most
 * GROUP_COMMITS). A commit resolves when its own write is done, so commits of one stream must be
 * issued one after another (the ingest and the store-writer's partitions do) to stay in order.
 * Retry: the client retries transient failures (429/5xx, network) with exponential backoff and
 * jitter, but the commits report failure at once so the readings are not acked; they are re-sent
 * and de-duplication absorbs a late retry. Back-pressure: at most `maxPending` commits may wait; beyond that a commit
 * fails with TELEMETRY_BUSY (transient) and the edge backs off.
 */
import { BvError, type Logger } from "@bitvelocity/common";
import { InfluxDB, setLogger, type WriteApi } from "@influxdata/influxdb-client";
import { toLines, toReadings } from "./influx-codec.js";
import {
  BUCKET_MS,
  type CommitResult,
  type LatestValues,
  type NewReading,
  numericValue,
  type Resolution,
  type SeriesPoint,
  type StoredReading,
  type TelemetryStore,
  type TelemetryValue,
  type TimeRange,
} from "./telemetry-store.js";
import { VmReader } from "./vm-reader.js";

export interface InfluxStoreOptions {
  /** Base URL of the write API (e.g. http://victoria-metrics:8428 or http://influxdb:8086). */
  readonly url: string;
  /** Base URL of VictoriaMetrics for history queries; defaults to url. */
  readonly queryUrl?: string | undefined;
  readonly token?: string | undefined;
  readonly org: string;
  readonly bucket: string;
  readonly maxRetries?: number;
  readonly maxPending?: number;
  /** Call VictoriaMetrics' /internal/force_flush after each write so replays are seen at once. */
  readonly forceFlush?: boolean;
  /**
   * Gzip write bodies over 1 KB (the client's default). Off by default: gzip and gunzip cost the
   * writer and the engine CPU that a LAN does not pay back (write rate +15–30 % without,
   * bench/RESULTS.md "Scale-out engines").
   */
  readonly gzip?: boolean;
  readonly timeoutMs?: number;
  /** HTTP writes in flight at once (default WRITES_AT_ONCE); the commits waiting meanwhile share the next. */
  readonly writesAtOnce?: number;
  /** A `scope` tag on every point and query, so several deployments (or tests) can share one engine. */
  readonly scope?: string | undefined;
  readonly logger?: Logger;
}

const MAX_LIMIT = 100_000;
/** Commits one write takes at most (each is a batch of up to ingest.max_batch_readings). */
const GROUP_COMMITS = 16;
/**
 * HTTP writes in flight at once. One write at a time left the writer idle while the engine took
 * each request in; two gave a store-writer 9 % more on average, 86.6k → 94.6k readings/s over
 * eight alternating runs (bench/RESULTS.md, "Store-writer: two writes in flight").
 */
const WRITES_AT_ONCE = 2;
/** How many recently written (edge, seq) this store remembers (a few MB). */
const RECENT_SEQS = 200_000;
const clampLimit = (limit: number | undefined, fallback: number) => Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? fallback)));
const selector = (labels: Record<string, string>, name: string) =>
  `{__name__=~${JSON.stringify(name)},${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;

export class InfluxTelemetryStore implements TelemetryStore {
  private readonly writer: WriteApi;
  private readonly reader: VmReader;
  /** Commits waiting for the next write, and whether a write is running. */
  private waiting: {
    edgeId: string;
    readings: readonly NewReading[];
    resolve: (r: CommitResult) => void;
    reject: (err: unknown) => void;
  }[] = [];
  private readonly writes = new Set<Promise<void>>();
  private pending = 0;
  /**
   * (edge, seq) this store wrote lately, oldest first: a replay of a recent batch (a lost Ack) is
   * reported as duplicates without a query. Best effort only — another process or an older seq is
   * rewritten and reported as inserted; what is stored is exact either way.
   */
  private readonly recent = new Map<string, true>();
  /** (edge, seq) of the writes running now. */
  private readonly flying = new Set<string>();
  private closed = false;

  constructor(private readonly options: InfluxStoreOptions) {
    const logger = options.logger;
    if (logger) {
      // The client logs through console by default; route it into the component's logger.
      setLogger({ error: (message, err) => logger.warn({ err }, message), warn: (message, err) => logger.debug({ err }, message) });
    }
    const influx = new InfluxDB({ url: options.url, token: options.token ?? "", timeout: options.timeoutMs ?? 10_000 });
    this.writer = influx.getWriteApi(options.org, options.bucket, "ms", {
      // Each commit is flushed by hand; no timer, and a batch is never split by the client.
      flushInterval: 0,
      batchSize: 10_000_000,
      maxRetries: options.maxRetries ?? 3,
      maxRetryDelay: 5_000,
      minRetryDelay: 200,
      retryJitter: 200,
      maxBufferLines: 100_000,
      gzipThreshold: options.gzip ? 1000 : undefined,
    });
    this.reader = new VmReader((options.queryUrl ?? options.url).replace(/\/$/, ""), options.timeoutMs ?? 10_000);
  }

  private sel(labels: Record<string, string>, name: string): string {
    return selector(this.options.scope ? { ...labels, scope: this.options.scope } : labels, name);
  }

  commitBatch(edgeId: string, readings: readonly NewReading[]): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new BvError("TELEMETRY_CLOSED", "transient", "the telemetry store is closed"));
    if (readings.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0, insertedSeqs: [] });
    if (this.pending >= (this.options.maxPending ?? 64)) {
      return Promise.reject(new BvError("TELEMETRY_BUSY", "transient", `${this.pending} telemetry commits are already waiting`));
    }
    this.pending++;
    return new Promise<CommitResult>((resolve, reject) => {
      this.waiting.push({ edgeId, readings, resolve, reject });
      this.pump();
    }).finally(() => this.pending--);
  }

  /** Starts writes for the commits waiting while fewer than writesAtOnce run (each starts the next when done). */
  private pump(): void {
    while (this.writes.size < (this.options.writesAtOnce ?? WRITES_AT_ONCE) && this.waiting.length > 0) {
      const group = this.waiting.splice(0, GROUP_COMMITS);
      const write: Promise<void> = this.commitNow(group, [...this.writes]).finally(() => {
        this.writes.delete(write);
        this.pump();
      });
      this.writes.add(write);
    }
  }

  private async commitNow(group: typeof this.waiting, running: readonly Promise<void>[]): Promise<void> {
    // A commit carrying an (edge, seq) that a running write carries (a replay racing its original)
    // waits for that write, so the reading is reported as a duplicate, as with one write at a time.
    if (running.length > 0 && group.some((c) => c.readings.some((r) => this.flying.has(seqKey(c.edgeId, r.seq)))))
      await Promise.allSettled(running);
    // Only duplicates within the group are recognised here; across writes the engine's point
    // identity makes a rewrite harmless (see the header).
    const written = new Set<string>();
    const now = Date.now();
    const lines: string[] = [];
    const results = group.map(({ edgeId, readings }) => {
      const stored = new Set<string>();
      const insertedSeqs: number[] = [];
      for (const r of readings) {
        const key = seqKey(edgeId, r.seq);
        if (written.has(key) || this.recent.has(key)) continue;
        written.add(key); // a seq repeated within the group is a duplicate too
        // A device's re-sent reading (same device time and values, new seq after an edge crash
        // between commit and PUBACK) is a duplicate, as in the SQLite store.
        if (r.deviceTimeMs !== undefined) {
          const content = contentKey(r.deviceId, r.deviceTimeMs, r.values);
          if (stored.has(content)) continue;
          stored.add(content);
        }
        insertedSeqs.push(r.seq);
        for (const line of toLines(edgeId, r, r.receivedAt ?? now, this.options.scope)) lines.push(line);
      }
      return { inserted: insertedSeqs.length, duplicates: readings.length - insertedSeqs.length, insertedSeqs };
    });
    if (lines.length > 0) {
      for (const key of written) this.flying.add(key);
      try {
        this.writer.writeRecords(lines);
        await this.writer.flush().catch((err: Error) => {
          throw new BvError("TELEMETRY_WRITE_FAILED", "transient", `line-protocol write failed: ${err.message}`, { cause: err });
        });
        if (this.options.forceFlush ?? true) await this.reader.forceFlush();
      } catch (err) {
        for (const c of group) c.reject(err);
        return;
      } finally {
        for (const key of written) this.flying.delete(key);
      }
      // Remembered only once written: a failed write is re-sent and must be written then.
      for (const key of written) this.recent.set(key, true);
      for (const key of this.recent.keys()) {
        if (this.recent.size <= RECENT_SEQS) break;
        this.recent.delete(key);
      }
    }
    group.forEach((c, i) => {
      c.resolve(results[i]!);
    });
  }

  async readings(deviceId: string, query: TimeRange & { limit?: number | undefined }): Promise<StoredReading[]> {
    const series = await this.reader.export(this.sel({ device_id: deviceId }, "bv_.+"), query.from, query.to);
    return toReadings(series).slice(0, clampLimit(query.limit, 1000));
  }

  async series(
    deviceId: string,
    metric: string,
    query: TimeRange & { resolution: Resolution; limit?: number | undefined },
  ): Promise<SeriesPoint[]> {
    const limit = clampLimit(query.limit, 10_000);
    const size = query.resolution === "raw" ? 1 : BUCKET_MS[query.resolution];
    // A bucket counts when it overlaps [from, to), and then with all of its points.
    const from = query.from === undefined ? undefined : query.from - (((query.from % size) + size) % size);
    const to = query.to === undefined ? undefined : Math.ceil(query.to / size) * size;
    const name = `bv_n_${metric}|bv_b_${metric}`.replace(/[.*+?^${}()[\]\\]/g, "\\$&").replace("\\|", "|");
    const exported = await this.reader.export(this.sel({ device_id: deviceId }, name), from, to);
    const samples: { ts: number; v: number }[] = [];
    for (const s of exported)
      s.timestamps.forEach((ts, i) => {
        const v = s.values[i];
        const n = v === null || v === undefined ? undefined : numericValue(v);
        if (n !== undefined) samples.push({ ts, v: n });
      });
    samples.sort((a, b) => a.ts - b.ts);
    if (query.resolution === "raw") return samples.slice(0, limit).map((s) => ({ ts: s.ts, min: s.v, max: s.v, avg: s.v, count: 1 }));
    const buckets = new Map<number, { min: number; max: number; sum: number; count: number }>();
    for (const s of samples) {
      const bucket = s.ts - (((s.ts % size) + size) % size);
      const b = buckets.get(bucket);
      if (!b) buckets.set(bucket, { min: s.v, max: s.v, sum: s.v, count: 1 });
      else {
        b.min = Math.min(b.min, s.v);
        b.max = Math.max(b.max, s.v);
        b.sum += s.v;
        b.count++;
      }
    }
    return [...buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .slice(0, limit)
      .map(([ts, b]) => ({ ts, min: b.min, max: b.max, avg: b.sum / b.count, count: b.count }));
  }

  async latest(deviceId: string): Promise<LatestValues> {
    const rows = await this.reader.latest(this.sel({ device_id: deviceId }, "bv_n_.+|bv_b_.+|bv_text_seq"));
    const out: LatestValues = {};
    for (const row of rows) {
      const name = row.metric.__name__ ?? "";
      let metric: string;
      let value: number | boolean | string;
      if (name === "bv_text_seq") {
        metric = row.metric.metric ?? "";
        value = row.metric.value ?? "";
      } else {
        metric = name.slice("bv_n_".length);
        value = name.startsWith("bv_b_") ? row.value !== 0 : row.value;
      }
      const current = out[metric];
      if (!current || row.ts > current.ts) out[metric] = { value, ts: row.ts };
    }
    return out;
  }

  check(): Promise<boolean> {
    return this.reader.healthy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writes.size > 0) await Promise.all(this.writes);
    await this.writer.close().catch(() => undefined);
  }
}

const seqKey = (edgeId: string, seq: number) => `${edgeId}\u0000${seq}`;

function contentKey(deviceId: string, deviceTimeMs: number, values: Readonly<Record<string, TelemetryValue>>): string {
  const sorted = Object.keys(values)
    .sort()
    .map((k) => [k, values[k]]);
  return `${deviceId}\u0000${deviceTimeMs}\u0000${JSON.stringify(sorted)}`;
}
