/**
 * The durable outbox (DESIGN.md §3 promises 1, 2, 4, 7). Appends queue in memory; a group commit
 * writes everything queued in ONE transaction (one fsync) every `commitIntervalMs`, or at once
 * when the queue reaches `batchSize`, and only then resolves each append with its seq. So a
 * resolved append is on disk: the broker acknowledges a PUBLISH only after that. The budget, the
 * lanes' policies and TTLs are applied inside the same transaction (retention.ts); a corrupt file
 * is moved aside and salvaged (recovery.ts).
 */
import { mkdirSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import { EdgeMessage } from "@bitvelocity/proto";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { ControlQueue } from "./control.js";
import { type OutboxMetrics, outboxMetrics } from "./metrics.js";
import { isCorruption, type RecoveryReport, recoverCorrupt } from "./recovery.js";
import { type Admission, type LanePolicy, Retention } from "./retention.js";
import { type DatabaseTuning, prepareDatabase, type ReadingRow, recordBytes, usedBytes } from "./schema.js";
import type {
  ControlItem,
  DeadLetterInput,
  GapRecordInput,
  Lane,
  NewReading,
  OutboxReader,
  OutboxStats,
  PeekOptions,
  StoredReading,
} from "./types.js";

/** A Pi without an RTC boots at 1970; wall time before this is not trusted. */
export const CLOCK_TRUSTED_AFTER_MS = Date.UTC(2024, 0, 1);
const MAX_DEAD_LETTERS = 10_000;
/** Forwarded to the cloud with a dead letter; the whole payload stays on the edge. */
const DEAD_LETTER_PREVIEW_BYTES = 1024;
const MAINTENANCE_MS = 30_000;
/** Kept free on the file system whatever the budget says (at most this, at most a tenth of the disk). */
const DISK_RESERVE_BYTES = 32 * 1024 * 1024;

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
  readonly budgetBytes?: number;
  readonly lanes?: { readonly telemetry: LanePolicy; readonly alarm: LanePolicy };
  readonly synchronous?: DatabaseTuning["synchronous"];
  readonly busyTimeoutMs?: number;
  readonly walLimitBytes?: number;
  /** Told about alarms raised and cleared (for logging). */
  readonly onAlarm?: (code: string, detail: string | undefined) => void;
}

export const DEFAULT_LANES = {
  telemetry: { policy: "drop-oldest", ttlMs: 7 * 86_400_000 },
  alarm: { policy: "drop-oldest", ttlMs: 30 * 86_400_000 },
} as const satisfies OutboxOptions["lanes"];

type Pending =
  | { kind: "reading"; row: Omit<ReadingRow, "seq">; resolve: (seq: number) => void; reject: (err: Error) => void }
  | { kind: "dead"; input: DeadLetterInput; label: string; resolve: (seq: number) => void; reject: (err: Error) => void };

const systemClock: OutboxClock = { now: () => Date.now(), uptimeMs: () => performance.now() };

function statements(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO readings (lane, device_id, device_type, values_json, device_time_ms, edge_time_ms, boot_id, uptime_ms, clock_synced, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertDead: db.prepare("INSERT INTO dead_letters (time_ms, device_id, topic, payload, reason, seq) VALUES (?, ?, ?, ?, ?, ?)"),
    trimDead: db.prepare("DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?"),
    peekAll: db.prepare("SELECT * FROM readings WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"),
    peekLane: db.prepare("SELECT * FROM readings WHERE lane = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?"),
    delete: db.prepare("DELETE FROM readings WHERE seq = ? RETURNING bytes"),
    sizeOfRange: db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM readings WHERE seq BETWEEN ? AND ?"),
    deleteRange: db.prepare("DELETE FROM readings WHERE seq BETWEEN ? AND ?"),
    oldest: db.prepare("SELECT edge_time_ms FROM readings ORDER BY seq LIMIT 1"),
    lastSeq: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'readings'"),
    totals: db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM readings"),
    deadCount: db.prepare("SELECT COUNT(*) AS n FROM dead_letters"),
  };
}

export class Outbox implements OutboxReader {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly maintenance: NodeJS.Timeout;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  private readonly metrics: OutboxMetrics;
  private counts = { readings: 0, bytes: 0, oldestEdgeTimeMs: 0, deadLetters: 0, bytesWritten: 0, evicted: 0, gaps: 0 };
  private readonly alarmMap = new Map<string, string>();
  private db!: Database.Database;
  private stmts!: ReturnType<typeof statements>;
  private control!: ControlQueue;
  private retention!: Retention;
  /** Gap records written by the transaction in progress; counted once it commits. */
  private txGaps: GapRecordInput[] = [];
  private inFlight: (seq: number) => boolean = () => false;
  private commitCount = 0;
  private readonly path: string;
  private readonly tuning: DatabaseTuning;

  private constructor(
    db: Database.Database,
    private readonly options: Required<Omit<OutboxOptions, "registry" | "onAlarm" | "synchronous" | "busyTimeoutMs" | "walLimitBytes">> &
      Pick<OutboxOptions, "onAlarm">,
    tuning: DatabaseTuning,
    registry: Registry,
    recovered: RecoveryReport | undefined,
  ) {
    this.path = join(options.dir, "outbox.db");
    this.tuning = tuning;
    this.metrics = outboxMetrics(registry, () => this.stats());
    this.attach(db);
    if (recovered) this.noteRecovery(recovered);
    this.maintain();
    this.maintenance = setInterval(() => this.maintain(), MAINTENANCE_MS);
    this.maintenance.unref();
  }

  static open(options: OutboxOptions): Outbox {
    mkdirSync(options.dir, { recursive: true });
    const path = join(options.dir, "outbox.db");
    const clock = options.clock ?? systemClock;
    const tuning: DatabaseTuning = {
      synchronous: options.synchronous ?? "full",
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      walLimitBytes: options.walLimitBytes ?? 4 * 1024 * 1024,
    };
    let recovered: RecoveryReport | undefined;
    let db: Database.Database;
    try {
      db = openDatabase(path, tuning);
    } catch (err) {
      if (!isCorruption(err)) {
        throw new BvError("OUTBOX_OPEN_FAILED", "fatal", `cannot open the outbox in ${options.dir}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      recovered = recoverCorrupt(path, tuning, clock.now());
      db = openDatabase(path, tuning);
    }
    return new Outbox(
      db,
      {
        dir: options.dir,
        commitIntervalMs: options.commitIntervalMs ?? 10,
        maxPending: options.maxPending ?? 5000,
        batchSize: options.batchSize ?? 1000,
        bootId: options.bootId,
        clock,
        budgetBytes: options.budgetBytes ?? 256 * 1024 * 1024,
        lanes: options.lanes ?? DEFAULT_LANES,
        onAlarm: options.onAlarm,
      },
      tuning,
      options.registry ?? new Registry(),
      recovered,
    );
  }

  private attach(db: Database.Database): void {
    this.db = db;
    this.stmts = statements(db);
    this.control = new ControlQueue(db, () => this.options.clock.now());
    this.retention = new Retention(
      db,
      this.control,
      { budgetBytes: this.options.budgetBytes, lanes: this.options.lanes },
      (gap) => this.txGaps.push(gap),
      (seq) => this.inFlight(seq),
    );
    const totals = this.stmts.totals.get() as { n: number; b: number };
    this.counts.readings = totals.n;
    this.counts.bytes = totals.b;
    this.counts.deadLetters = (this.stmts.deadCount.get() as { n: number }).n;
    this.refreshOldest();
  }

  /** Queues a reading; resolves with its seq once the group commit holding it is on disk. */
  append(reading: NewReading): Promise<number> {
    const now = Math.round(this.options.clock.now());
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
      this.metrics.refused.inc({ reason: "busy" });
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
    if (batch.length === 0 || this.closed) return;
    this.queue = [];
    let outcome: { seqs: number[]; admitted: Admission[]; written: number };
    try {
      outcome = this.commitWithRecovery(batch);
    } catch (err) {
      const failure = this.failure(err);
      for (const item of batch) item.reject(failure);
      return;
    }
    this.clearAlarm("OUTBOX_DISK_FULL");
    this.clearAlarm("OUTBOX_LOCKED");
    this.settle(batch, outcome);
  }

  /** Commits; a corrupt file is recovered and the commit tried once more; a full disk lowers the budget and retries once. */
  private commitWithRecovery(batch: Pending[]): { seqs: number[]; admitted: Admission[]; written: number } {
    try {
      return this.commit(batch);
    } catch (err) {
      if (isCorruption(err)) {
        this.recoverNow();
        return this.commit(batch);
      }
      if ((err as { code?: string }).code === "SQLITE_FULL") {
        this.raiseAlarm("OUTBOX_DISK_FULL", "the disk (or the database's page limit) is full; the budget is lowered to what fits");
        this.retention.limitBudget(usedBytes(this.db) * 0.9);
        return this.commit(batch);
      }
      throw err;
    }
  }

  private commit(batch: Pending[]): { seqs: number[]; admitted: Admission[]; written: number } {
    const now = this.options.clock.now();
    const incoming = new Map<Lane, number>();
    for (const item of batch) {
      if (item.kind === "reading") incoming.set(item.row.lane as Lane, (incoming.get(item.row.lane as Lane) ?? 0) + item.row.bytes);
    }
    const seqs: number[] = new Array(batch.length).fill(0);
    const admitted: Admission[] = new Array(batch.length).fill("store");
    let written = 0;
    this.txGaps = [];
    try {
      this.db.transaction(() => {
        const admission = incoming.size > 0 ? this.retention.admit(incoming) : new Map<Lane, Admission>();
        const dropped = new Map<Lane, number[]>();
        let dead = 0;
        batch.forEach((item, i) => {
          if (item.kind === "reading") {
            const lane = item.row.lane as Lane;
            const decision = admission.get(lane) ?? "store";
            admitted[i] = decision;
            if (decision === "store") {
              const r = item.row;
              // Positional parameters: binding by name costs a property lookup per column.
              seqs[i] = Number(
                this.stmts.insert.run(
                  r.lane,
                  r.device_id,
                  r.device_type,
                  r.values_json,
                  r.device_time_ms,
                  r.edge_time_ms,
                  r.boot_id,
                  r.uptime_ms,
                  r.clock_synced,
                  r.bytes,
                ).lastInsertRowid,
              );
              written += item.row.bytes;
            } else if (decision === "drop") {
              const list = dropped.get(lane) ?? [];
              list.push(i);
              dropped.set(lane, list);
            }
          } else {
            const { deviceId, topic, payload, reason } = item.input;
            seqs[i] = Number(this.stmts.insertDead.run(now, deviceId, topic, Buffer.from(payload), reason, null).lastInsertRowid);
            this.control.append("deadLetter", encodeDeadLetter(item.input, now));
            written += payload.byteLength + reason.length + topic.length + 40;
            dead++;
          }
        });
        for (const [lane, indexes] of dropped) {
          const range = this.retention.recordDropped(lane, indexes.length, now);
          indexes.forEach((index, k) => {
            seqs[index] = range.first + k;
          });
        }
        if (dead > 0) this.stmts.trimDead.run(MAX_DEAD_LETTERS);
      })();
    } catch (err) {
      this.txGaps = [];
      this.control.refresh();
      throw err;
    }
    return { seqs, admitted, written };
  }

  private settle(batch: Pending[], outcome: { seqs: number[]; admitted: Admission[]; written: number }): void {
    this.metrics.commits.inc();
    this.metrics.bytesWritten.inc(outcome.written);
    this.counts.bytesWritten += outcome.written;
    const evicted = this.countGaps();
    let added = 0;
    let refused = 0;
    batch.forEach((item, i) => {
      if (item.kind === "dead") {
        this.counts.deadLetters++;
        this.metrics.deadLetters.inc({ reason: item.label });
        item.resolve(outcome.seqs[i] as number);
        return;
      }
      const decision = outcome.admitted[i];
      if (decision === "reject") {
        refused++;
        item.reject(new BvError("OUTBOX_FULL", "transient", "the outbox is at its byte budget and this lane's policy is reject"));
        return;
      }
      if (decision === "store") {
        if (this.counts.readings === 0) this.counts.oldestEdgeTimeMs = item.row.edge_time_ms;
        this.counts.readings++;
        this.counts.bytes += item.row.bytes;
        added++;
      }
      item.resolve(outcome.seqs[i] as number);
    });
    if (refused > 0) {
      this.metrics.refused.inc({ reason: "full" }, refused);
      this.raiseAlarm("OUTBOX_FULL", "at the byte budget: refusing readings of lanes with policy reject (devices keep and retry them)");
    } else if (added > 0) this.clearAlarm("OUTBOX_FULL");
    if (evicted > 0) this.refreshCounts();
    // Re-measure the disk bytes per record byte now and then (three pragmas).
    if (evicted > 0 || ++this.commitCount % 64 === 0) this.retention.measure(this.counts.bytes);
    if (added > 0) for (const listener of this.listeners) guard(listener);
  }

  /** Counts the gap records of the committed transaction; returns the readings they account for. */
  private countGaps(): number {
    let evicted = 0;
    for (const gap of this.txGaps) {
      this.counts.gaps++;
      this.metrics.gaps.inc({ lane: gap.lane, reason: gap.reason });
      this.metrics.evicted.inc({ lane: gap.lane, reason: gap.reason }, gap.count);
      this.counts.evicted += gap.count;
      evicted += gap.count;
    }
    this.txGaps = [];
    return evicted;
  }

  private failure(err: unknown): BvError {
    const code = (err as { code?: string }).code;
    if (code === "SQLITE_FULL") {
      return new BvError("OUTBOX_DISK_FULL", "transient", "outbox commit failed: the disk is full", { cause: err });
    }
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
      this.raiseAlarm("OUTBOX_LOCKED", "another process holds a lock on outbox.db");
      return new BvError("OUTBOX_LOCKED", "transient", "outbox commit failed: the database is locked by another process", { cause: err });
    }
    return new BvError("OUTBOX_WRITE_FAILED", "transient", `outbox commit failed: ${(err as Error).message}`, { cause: err });
  }

  peek(options: PeekOptions): StoredReading[] {
    const after = options.afterSeq ?? 0;
    const upTo = options.upToSeq ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.max(1, options.limit);
    const query = () =>
      (options.lane
        ? this.stmts.peekLane.all(options.lane, after, upTo, limit)
        : this.stmts.peekAll.all(after, upTo, limit)) as ReadingRow[];
    const rows = this.withRecovery(query);
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

  lastSeq(): number {
    return (this.stmts.lastSeq.get() as { seq: number } | undefined)?.seq ?? 0;
  }

  /** Readings the drainer has in flight are not evicted (the cloud may be committing them). */
  protectInFlight(check: (seq: number) => boolean): void {
    this.inFlight = check;
  }

  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.withRecovery(() =>
      this.db.transaction(() => {
        // A batch is mostly one run of consecutive seqs: one range delete per run, not one per reading.
        for (const [first, last] of runs(seqs)) {
          const size = this.stmts.sizeOfRange.get(first, last) as { n: number; b: number };
          this.stmts.deleteRange.run(first, last);
          this.counts.readings -= size.n;
          this.counts.bytes -= size.b;
        }
      })(),
    );
    this.refreshOldest();
  }

  reject(rejected: readonly { readonly seq: number; readonly reason: string }[]): void {
    if (rejected.length === 0) return;
    const now = this.options.clock.now();
    let moved = 0;
    const select = this.db.prepare("SELECT * FROM readings WHERE seq = ?");
    this.withRecovery(() =>
      this.db.transaction(() => {
        for (const { seq, reason } of rejected) {
          const row = select.get(seq) as ReadingRow | undefined;
          if (!row) continue;
          this.stmts.delete.run(seq);
          this.counts.readings--;
          this.counts.bytes -= row.bytes;
          this.stmts.insertDead.run(now, row.device_id, `bv/${row.device_id}/telemetry`, Buffer.from(row.values_json), reason, seq);
          moved++;
        }
        this.stmts.trimDead.run(MAX_DEAD_LETTERS);
      })(),
    );
    this.counts.deadLetters += moved;
    if (moved > 0) this.metrics.deadLetters.inc({ reason: "rejected_by_cloud" }, moved);
    this.refreshOldest();
  }

  appendControl(kind: string, body: Uint8Array): number {
    return this.withRecovery(() => this.control.append(kind, body));
  }

  peekControl(limit: number, afterId = 0): ControlItem[] {
    return this.withRecovery(() => this.control.peek(limit, afterId));
  }

  ackControl(ids: readonly number[]): void {
    this.withRecovery(() => this.control.ack(ids));
  }

  stats(): OutboxStats {
    const ageMs = this.counts.readings > 0 ? this.options.clock.now() - this.counts.oldestEdgeTimeMs : 0;
    let diskBytes = 0;
    try {
      if (this.db.open) diskBytes = usedBytes(this.db);
    } catch {
      diskBytes = 0;
    }
    return {
      readings: this.counts.readings,
      bytes: this.counts.bytes,
      diskBytes,
      budgetBytes: this.retention.budgetBytes,
      oldestAgeSeconds: Math.max(0, ageMs / 1000),
      deadLetters: this.counts.deadLetters,
      bytesWritten: this.counts.bytesWritten,
      evictedReadings: this.counts.evicted,
      gaps: this.counts.gaps,
      controlPending: this.control.pending,
      alarms: [...this.alarmMap].map(([code, detail]) => `${code}: ${detail}`),
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
    clearInterval(this.maintenance);
    this.db.close();
  }

  /**
   * Every 30 s: expire readings past their lane's TTL, keep the budget within the free disk
   * space, and give freed pages back to the file system once the backlog is small.
   */
  maintain(): void {
    if (this.closed) return;
    try {
      this.txGaps = [];
      this.db.transaction(() => this.retention.expire(this.options.clock.now()))();
      if (this.countGaps() > 0) this.refreshCounts();
      this.fitBudgetToDisk();
      const pages = this.db.pragma("page_count", { simple: true }) as number;
      const free = this.db.pragma("freelist_count", { simple: true }) as number;
      // Vacuum only when most of the file is free: pages about to be reused are not worth the writes.
      if (free > 256 && free > pages / 2) this.db.pragma(`incremental_vacuum(${free - 128})`);
    } catch (err) {
      if (isCorruption(err)) this.recoverNow();
    }
  }

  private fitBudgetToDisk(): void {
    let free: number;
    let reserve: number;
    try {
      const fs = statfsSync(this.options.dir);
      free = fs.bavail * fs.bsize;
      reserve = Math.min(DISK_RESERVE_BYTES, (fs.blocks * fs.bsize) / 10);
    } catch {
      return;
    }
    const fits = usedBytes(this.db) + free - reserve;
    this.retention.limitBudget(fits);
    if (fits < this.options.budgetBytes) {
      this.raiseAlarm("OUTBOX_DISK_SHORT", `the disk has room for ${Math.round(fits / 1e6)} MB of outbox, less than the budget`);
    } else this.clearAlarm("OUTBOX_DISK_SHORT");
  }

  /** Runs a read or write; a corrupt file is recovered and the operation tried once more. */
  private withRecovery<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      this.recoverNow();
      return fn();
    }
  }

  private recoverNow(): void {
    try {
      this.db.close();
    } catch {
      // already unusable
    }
    const report = recoverCorrupt(this.path, this.tuning, this.options.clock.now());
    this.attach(openDatabase(this.path, this.tuning));
    this.noteRecovery(report);
  }

  private noteRecovery(report: RecoveryReport): void {
    this.metrics.recoveries.inc();
    for (const gap of report.lostRanges) {
      this.counts.gaps++;
      this.metrics.gaps.inc({ lane: gap.lane, reason: gap.reason });
      this.metrics.evicted.inc({ lane: gap.lane, reason: gap.reason }, gap.count);
    }
    this.raiseAlarm(
      "OUTBOX_CORRUPT_RECOVERED",
      `the outbox file was corrupt and is kept at ${report.movedTo}; ${report.salvagedReadings} readings salvaged, ` +
        `${report.lostRanges.length} unreadable ranges recorded as gaps`,
    );
  }

  private raiseAlarm(code: string, detail: string): void {
    if (this.alarmMap.get(code) === detail) return;
    this.alarmMap.set(code, detail);
    this.options.onAlarm?.(code, detail);
  }

  private clearAlarm(code: string): void {
    if (!this.alarmMap.delete(code)) return;
    this.options.onAlarm?.(code, undefined);
  }

  private refreshCounts(): void {
    const totals = this.stmts.totals.get() as { n: number; b: number };
    this.counts.readings = totals.n;
    this.counts.bytes = totals.b;
    this.refreshOldest();
  }

  private refreshOldest(): void {
    const row = this.stmts.oldest.get() as { edge_time_ms: number } | undefined;
    this.counts.oldestEdgeTimeMs = row?.edge_time_ms ?? 0;
  }
}

function openDatabase(path: string, tuning: DatabaseTuning): Database.Database {
  const db = new Database(path);
  try {
    prepareDatabase(db, tuning);
    // Touch every table once, so a damaged file is found now rather than at the first commit.
    db.prepare("SELECT COUNT(*) FROM readings").get();
    db.prepare("SELECT COUNT(*) FROM control").get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function encodeDeadLetter(input: DeadLetterInput, timeMs: number): Uint8Array {
  return EdgeMessage.encode({
    kind: {
      $case: "deadLetter",
      deadLetter: {
        deviceId: input.deviceId,
        topic: input.topic,
        payload: Buffer.from(input.payload.subarray(0, DEAD_LETTER_PREVIEW_BYTES)),
        reason: input.reason,
        timeMs,
        seq: 0,
        deviceType: "",
      },
    },
  }).finish();
}

/** [first, last] of each run of consecutive values, in ascending order. */
function runs(values: readonly number[]): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else if (!last || v > last[1]) out.push([v, v]);
  }
  return out;
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
