/**
 * The durable outbox (DESIGN.md §3 promises 1–2, 7). Appends queue in memory; a group commit
 * writes everything queued in ONE transaction (one fsync) every `commitIntervalMs`, or at once
 * when the queue reaches `batchSize`, and only then resolves each append with its seq. So a
 * resolved append is on disk: the broker acknowledges a PUBLISH only after that.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { type OutboxMetrics, outboxMetrics } from "./metrics.js";
import { prepareDatabase, type ReadingRow, recordBytes } from "./schema.js";
import type { DeadLetterInput, Lane, NewReading, OutboxReader, OutboxStats, StoredReading } from "./types.js";

/** A Pi without an RTC boots at 1970; wall time before this is not trusted. */
const CLOCK_TRUSTED_AFTER_MS = Date.UTC(2024, 0, 1);

export interface OutboxClock {
  /** Wall time, ms since the epoch. */
  now(): number;
  /** Monotonic ms since this boot. */
  uptimeMs(): number;
}

export interface OutboxOptions {
  readonly dir: string;
  readonly commitIntervalMs?: number;
  readonly maxPending?: number;
  /** Queue length that triggers a commit without waiting for the window. */
  readonly batchSize?: number;
  readonly bootId: string;
  readonly clock?: OutboxClock;
  readonly registry?: Registry;
}

type Pending =
  | { kind: "reading"; row: Omit<ReadingRow, "seq">; resolve: (seq: number) => void; reject: (err: Error) => void }
  | { kind: "dead"; input: DeadLetterInput; label: string; resolve: (seq: number) => void; reject: (err: Error) => void };

const systemClock: OutboxClock = { now: () => Date.now(), uptimeMs: () => performance.now() };

export class Outbox implements OutboxReader {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  private readonly metrics: OutboxMetrics;
  private counts = { readings: 0, bytes: 0, oldestEdgeTimeMs: 0, deadLetters: 0, bytesWritten: 0 };
  private readonly stmts;

  private constructor(
    private readonly db: Database.Database,
    private readonly options: Required<Omit<OutboxOptions, "registry">>,
    registry: Registry,
  ) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO readings (lane, device_id, device_type, values_json, device_time_ms, edge_time_ms, boot_id, uptime_ms, clock_synced, bytes)
         VALUES (@lane, @device_id, @device_type, @values_json, @device_time_ms, @edge_time_ms, @boot_id, @uptime_ms, @clock_synced, @bytes)`,
      ),
      insertDead: db.prepare("INSERT INTO dead_letters (time_ms, device_id, topic, payload, reason, seq) VALUES (?, ?, ?, ?, ?, ?)"),
      peek: db.prepare("SELECT * FROM readings WHERE seq > ? ORDER BY seq LIMIT ?"),
      delete: db.prepare("DELETE FROM readings WHERE seq = ? RETURNING *"),
      oldest: db.prepare("SELECT edge_time_ms FROM readings ORDER BY seq LIMIT 1"),
    };
    const totals = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM readings").get() as { n: number; b: number };
    const dead = db.prepare("SELECT COUNT(*) AS n FROM dead_letters").get() as { n: number };
    this.counts.readings = totals.n;
    this.counts.bytes = totals.b;
    this.counts.deadLetters = dead.n;
    this.refreshOldest();
    this.metrics = outboxMetrics(registry, () => this.stats());
  }

  static open(options: OutboxOptions): Outbox {
    mkdirSync(options.dir, { recursive: true });
    const db = new Database(join(options.dir, "outbox.db"));
    try {
      prepareDatabase(db);
    } catch (err) {
      db.close();
      throw new BvError("OUTBOX_OPEN_FAILED", "fatal", `cannot open the outbox in ${options.dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new Outbox(
      db,
      {
        dir: options.dir,
        commitIntervalMs: options.commitIntervalMs ?? 10,
        maxPending: options.maxPending ?? 5000,
        batchSize: options.batchSize ?? 1000,
        bootId: options.bootId,
        clock: options.clock ?? systemClock,
      },
      options.registry ?? new Registry(),
    );
  }

  /** Queues a reading; resolves with its seq once the group commit holding it is on disk. */
  append(reading: NewReading): Promise<number> {
    const now = this.options.clock.now();
    const valuesJson = JSON.stringify(reading.values);
    const row: Omit<ReadingRow, "seq"> = {
      lane: reading.lane ?? "telemetry",
      device_id: reading.deviceId,
      device_type: reading.deviceType,
      values_json: valuesJson,
      device_time_ms: reading.deviceTimeMs ?? null,
      edge_time_ms: now,
      boot_id: this.options.bootId,
      uptime_ms: Math.round(this.options.clock.uptimeMs()),
      clock_synced: now > CLOCK_TRUSTED_AFTER_MS ? 1 : 0,
      bytes: recordBytes(reading.deviceId, reading.deviceType, valuesJson, this.options.bootId),
    };
    return this.enqueue((resolve, reject) => ({ kind: "reading", row, resolve, reject }));
  }

  /** Queues a dead letter (a message refused at the edge); resolves once it is committed. */
  deadLetter(input: DeadLetterInput, label = "invalid_payload"): Promise<void> {
    return this.enqueue((resolve, reject) => ({ kind: "dead", input, label, resolve, reject })).then(() => undefined);
  }

  private enqueue(make: (resolve: (seq: number) => void, reject: (err: Error) => void) => Pending): Promise<number> {
    if (this.closed) return Promise.reject(new BvError("OUTBOX_CLOSED", "transient", "the outbox is closed"));
    if (this.queue.length >= this.options.maxPending) {
      return Promise.reject(new BvError("OUTBOX_BUSY", "transient", `${this.queue.length} appends already wait for a commit`));
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push(make(resolve, reject));
      if (this.queue.length >= this.options.batchSize) {
        this.schedule(0);
      } else if (!this.timer) {
        this.schedule(this.options.commitIntervalMs);
      }
    });
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), ms);
  }

  /** Writes everything queued in one transaction, then settles each append. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const seqs: number[] = [];
    let written = 0;
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          if (item.kind === "reading") {
            seqs.push(Number(this.stmts.insert.run(item.row).lastInsertRowid));
            written += item.row.bytes;
          } else {
            const { deviceId, topic, payload, reason } = item.input;
            seqs.push(
              Number(
                this.stmts.insertDead.run(this.options.clock.now(), deviceId, topic, Buffer.from(payload), reason, null).lastInsertRowid,
              ),
            );
            written += payload.byteLength + reason.length + topic.length + 40;
          }
        }
      })();
    } catch (err) {
      const failure = new BvError("OUTBOX_WRITE_FAILED", "transient", `outbox commit failed: ${(err as Error).message}`, { cause: err });
      for (const item of batch) item.reject(failure);
      return;
    }
    this.metrics.commits.inc();
    this.metrics.bytesWritten.inc(written);
    this.counts.bytesWritten += written;
    let added = 0;
    batch.forEach((item, i) => {
      if (item.kind === "reading") {
        if (this.counts.readings === 0) this.counts.oldestEdgeTimeMs = item.row.edge_time_ms;
        this.counts.readings++;
        this.counts.bytes += item.row.bytes;
        added++;
      } else {
        this.counts.deadLetters++;
        this.metrics.deadLetters.inc({ reason: item.label });
      }
      item.resolve(seqs[i] as number);
    });
    if (added > 0) for (const listener of this.listeners) guard(listener);
  }

  peek(options: { readonly limit: number; readonly maxBytes: number; readonly afterSeq?: number }): StoredReading[] {
    const rows = this.stmts.peek.all(options.afterSeq ?? 0, Math.max(1, options.limit)) as ReadingRow[];
    const out: StoredReading[] = [];
    let bytes = 0;
    for (const row of rows) {
      // Always return at least one reading, so one large reading cannot stall the queue.
      if (out.length > 0 && bytes + row.bytes > options.maxBytes) break;
      bytes += row.bytes;
      out.push(toStored(row));
    }
    return out;
  }

  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.db.transaction(() => {
      for (const seq of seqs) this.forget(this.stmts.delete.get(seq) as ReadingRow | undefined);
    })();
    this.refreshOldest();
  }

  reject(rejected: readonly { readonly seq: number; readonly reason: string }[]): void {
    if (rejected.length === 0) return;
    const now = this.options.clock.now();
    let moved = 0;
    this.db.transaction(() => {
      for (const { seq, reason } of rejected) {
        const row = this.stmts.delete.get(seq) as ReadingRow | undefined;
        if (!row) continue;
        this.forget(row);
        const topic = `bv/${row.device_id}/telemetry`;
        this.stmts.insertDead.run(now, row.device_id, topic, Buffer.from(row.values_json), reason, seq);
        moved++;
      }
    })();
    this.counts.deadLetters += moved;
    if (moved > 0) this.metrics.deadLetters.inc({ reason: "rejected_by_cloud" }, moved);
    this.refreshOldest();
  }

  stats(): OutboxStats {
    const ageMs = this.counts.readings > 0 ? this.options.clock.now() - this.counts.oldestEdgeTimeMs : 0;
    return {
      readings: this.counts.readings,
      bytes: this.counts.bytes,
      oldestAgeSeconds: Math.max(0, ageMs / 1000),
      deadLetters: this.counts.deadLetters,
      bytesWritten: this.counts.bytesWritten,
    };
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Appends waiting for their group commit. */
  get pending(): number {
    return this.queue.length;
  }

  get isOpen(): boolean {
    return !this.closed && this.db.open;
  }

  /** Commits what is queued, then closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  private forget(row: ReadingRow | undefined): void {
    if (!row) return;
    this.counts.readings--;
    this.counts.bytes -= row.bytes;
  }

  private refreshOldest(): void {
    const row = this.stmts.oldest.get() as { edge_time_ms: number } | undefined;
    this.counts.oldestEdgeTimeMs = row?.edge_time_ms ?? 0;
  }
}

function guard(listener: () => void): void {
  try {
    listener();
  } catch {
    // A listener (the drainer) must not break the commit path; it logs its own errors.
  }
}

function toStored(row: ReadingRow): StoredReading {
  return {
    seq: row.seq,
    lane: row.lane as Lane,
    deviceId: row.device_id,
    deviceType: row.device_type,
    values: JSON.parse(row.values_json) as StoredReading["values"],
    ...(row.device_time_ms === null ? {} : { deviceTimeMs: row.device_time_ms }),
    edgeTimeMs: row.edge_time_ms,
    bootId: row.boot_id,
    uptimeMs: row.uptime_ms,
    clockSynced: row.clock_synced === 1,
    bytes: row.bytes,
  };
}
