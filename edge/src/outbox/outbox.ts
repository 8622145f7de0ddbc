/**
 * The durable outbox (DESIGN.md §3 promises 1, 2, 4, 7). Appends queue in memory
 * (commit-queue.ts); a group commit writes everything queued in ONE transaction (one fsync), at
 * most once per `commitIntervalMs` (at once when the queue reaches `batchSize`, or `awaitedBatchSize`
 * appends a device waits for), and only then resolves each
 * append with its seq (group-commit.ts). So a resolved append is on disk: the broker acknowledges
 * a PUBLISH only after that. The budget, the lanes' policies and TTLs are applied inside the same
 * transaction (retention.ts); gap records, dead letters and command results wait in the control
 * lane (control.ts); a corrupt file is moved aside and salvaged (recovery.ts). This class wires
 * those parts and keeps the running counts, alarms and metrics.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BvError } from "@bitvelocity/common";
import type Database from "better-sqlite3";
import { Registry } from "prom-client";
import { Alarms } from "./alarms.js";
import { CLOCK_TRUSTED_AFTER_MS, type OutboxClock, systemClock } from "./clock.js";
import { BUSY_RETRY_MS, CommitQueue, type Pending } from "./commit-queue.js";
import { ControlQueue } from "./control.js";
import { Counts } from "./counts.js";
import { openDatabase, type Statements, statements } from "./database.js";
import { bytesThatFit, vacuumIfMostlyFree } from "./disk.js";
import { type CommitOutcome, commitBatch, commitFailure, settleBatch, sqliteCode } from "./group-commit.js";
import { type OutboxMetrics, outboxMetrics } from "./metrics.js";
import { deleteAcked, moveRejected, peekReadings } from "./readings.js";
import { isCorruption, type RecoveryReport, recoverCorrupt } from "./recovery.js";
import { type LanePolicy, Retention } from "./retention.js";
import { type DatabaseTuning, type ReadingRow, recordBytes, usedBytes } from "./schema.js";
import type {
  ControlItem,
  DeadLetterInput,
  GapRecordInput,
  NewReading,
  OutboxReader,
  OutboxStats,
  PeekOptions,
  StoredReading,
} from "./types.js";

export { CLOCK_TRUSTED_AFTER_MS, type OutboxClock } from "./clock.js";

const MAINTENANCE_MS = 30_000;

export interface OutboxOptions {
  readonly dir: string;
  readonly commitIntervalMs?: number;
  readonly maxPending?: number;
  /** Queue length that triggers a commit without waiting for the window. */
  readonly batchSize?: number;
  /** Awaited appends (a device waits for a PUBACK) that trigger a commit without waiting for the window. */
  readonly awaitedBatchSize?: number;
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

type Settings = Required<Omit<OutboxOptions, "registry" | "onAlarm" | "synchronous" | "busyTimeoutMs" | "walLimitBytes">>;

export class Outbox implements OutboxReader {
  private readonly queue: CommitQueue;
  private readonly maintenance: NodeJS.Timeout;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  private readonly metrics: OutboxMetrics;
  private readonly counts = new Counts();
  private readonly alarms: Alarms;
  private db!: Database.Database;
  private stmts!: Statements;
  private control!: ControlQueue;
  private retention!: Retention;
  /** Gap records written by the transaction in progress; counted once it commits. */
  private txGaps: GapRecordInput[] = [];
  /** Readings (and their record bytes) the transaction's evictions deleted. */
  private txEvicted = { count: 0, bytes: 0 };
  private inFlight: (seq: number) => boolean = () => false;
  private commitCount = 0;
  private readonly path: string;

  private constructor(
    db: Database.Database,
    private readonly options: Settings,
    private readonly tuning: DatabaseTuning,
    registry: Registry,
    onAlarm: OutboxOptions["onAlarm"],
    recovered: RecoveryReport | undefined,
  ) {
    this.path = join(options.dir, "outbox.db");
    this.alarms = new Alarms(onAlarm);
    this.metrics = outboxMetrics(registry, () => this.stats());
    this.queue = new CommitQueue(
      options,
      () => this.flush(),
      () => this.metrics.refused.inc({ reason: "busy" }),
    );
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
      if (err instanceof BvError) throw err; // e.g. OUTBOX_TOO_NEW: refused, the file left as it is
      if (!isCorruption(err)) {
        throw new BvError("OUTBOX_OPEN_FAILED", "fatal", `cannot open the outbox in ${options.dir}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      recovered = recoverCorrupt(path, tuning, clock.now());
      db = openDatabase(path, tuning);
    }
    const settings: Settings = {
      dir: options.dir,
      commitIntervalMs: options.commitIntervalMs ?? 10,
      maxPending: options.maxPending ?? 5000,
      batchSize: options.batchSize ?? 64,
      awaitedBatchSize: options.awaitedBatchSize ?? 32,
      bootId: options.bootId,
      clock,
      budgetBytes: options.budgetBytes ?? 256 * 1024 * 1024,
      lanes: options.lanes ?? DEFAULT_LANES,
    };
    return new Outbox(db, settings, tuning, options.registry ?? new Registry(), options.onAlarm, recovered);
  }

  private attach(db: Database.Database): void {
    this.db = db;
    this.stmts = statements(db);
    this.control = new ControlQueue(db, () => this.options.clock.now());
    this.retention = new Retention(
      db,
      this.control,
      { budgetBytes: this.options.budgetBytes, lanes: this.options.lanes },
      (gap, stored) => {
        this.txGaps.push(gap);
        this.txEvicted.count += stored.count;
        this.txEvicted.bytes += stored.bytes;
      },
      (seq) => this.inFlight(seq),
    );
    this.counts.reload(this.stmts, true);
  }

  /** Queues a reading; resolves with its seq once the group commit holding it is on disk. */
  append(reading: NewReading): Promise<number> {
    const row = this.rowOf(reading);
    return this.queue.add((settle) => ({ kind: "reading", row, ...settle }));
  }

  /**
   * `append` without promises (ReadingSink.appendNow): `done(null, seq)` once committed; a full
   * commit queue is waited out here (`onBusy` told each time), any other refusal is `done(err)`.
   */
  appendNow(reading: NewReading, done: (err: Error | null, seq: number) => void, onBusy?: () => void, awaited = false): void {
    const item = new DirectAppend(this.rowOf(reading), done, awaited);
    const refused = this.queue.offer(item);
    if (refused) this.offerLater(item, refused, done, onBusy);
  }

  /** A refused `appendNow`: a full commit queue is waited out (offered again), anything else ends it. */
  private offerLater(item: Pending, refused: BvError, done: (err: Error | null, seq: number) => void, onBusy?: () => void): void {
    if (refused.code !== "OUTBOX_BUSY") {
      done(refused, 0);
      return;
    }
    onBusy?.();
    setTimeout(() => {
      const again = this.queue.offer(item);
      if (again) this.offerLater(item, again, done, onBusy);
    }, BUSY_RETRY_MS);
  }

  private rowOf(reading: NewReading): Omit<ReadingRow, "seq"> {
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
    return row;
  }

  /** Queues a dead letter (a message refused at the edge); resolves once it is committed. */
  deadLetter(input: DeadLetterInput, label = "invalid_payload"): Promise<void> {
    return this.queue.add((settle) => ({ kind: "dead", input, label, ...settle })).then(() => undefined);
  }

  /** Writes everything queued in one transaction, then settles each append. */
  flush(): void {
    const batch = this.queue.take();
    if (batch.length === 0) return;
    let outcome: CommitOutcome;
    try {
      outcome = this.commitWithRecovery(batch);
    } catch (err) {
      const failure = commitFailure(err);
      if (failure.code === "OUTBOX_LOCKED") this.alarms.raise("OUTBOX_LOCKED", "another process holds a lock on outbox.db");
      for (const item of batch) item.reject(failure);
      return;
    }
    this.alarms.clear("OUTBOX_DISK_FULL");
    this.alarms.clear("OUTBOX_LOCKED");
    this.settle(batch, outcome);
  }

  /** Commits; a corrupt file is recovered and the commit tried once more; a full disk lowers the budget and retries once. */
  private commitWithRecovery(batch: Pending[]): CommitOutcome {
    try {
      return this.commit(batch);
    } catch (err) {
      if (isCorruption(err)) {
        this.recoverNow();
        return this.commit(batch);
      }
      if (sqliteCode(err) === "SQLITE_FULL") {
        this.alarms.raise("OUTBOX_DISK_FULL", "the disk (or the database's page limit) is full; the budget is lowered to what fits");
        this.retention.limitBudget(usedBytes(this.db) * 0.9);
        return this.commit(batch);
      }
      throw err;
    }
  }

  private commit(batch: Pending[]): CommitOutcome {
    this.txGaps = [];
    this.txEvicted = { count: 0, bytes: 0 };
    try {
      const parts = { db: this.db, stmts: this.stmts, retention: this.retention, control: this.control };
      return commitBatch(parts, batch, this.options.clock.now());
    } catch (err) {
      this.txGaps = [];
      this.txEvicted = { count: 0, bytes: 0 };
      throw err;
    }
  }

  private settle(batch: Pending[], outcome: CommitOutcome): void {
    const evicted = this.countGaps();
    const { added, refused } = settleBatch(batch, outcome, this.counts, this.metrics);
    if (refused > 0) {
      this.alarms.raise("OUTBOX_FULL", "at the byte budget: refusing readings of lanes with policy reject (devices keep and retry them)");
    } else if (added > 0) this.alarms.clear("OUTBOX_FULL");
    if (evicted > 0) this.counts.countEvicted(this.stmts, this.txEvicted);
    // Re-measure the disk bytes per record byte now and then (three pragmas).
    if (evicted > 0 || ++this.commitCount % 64 === 0) this.retention.measure(this.counts.bytes);
    if (added > 0) for (const listener of this.listeners) guard(listener);
  }

  /** Counts the gap records of the committed transaction; returns the readings they account for. */
  private countGaps(): number {
    const evicted = this.counts.addGaps(this.txGaps, this.metrics);
    this.txGaps = [];
    return evicted;
  }

  peek(options: PeekOptions): StoredReading[] {
    return this.withRecovery(() => peekReadings(this.stmts, options));
  }

  lastSeq(): number {
    return this.stmts.lastSeq.get()?.seq ?? 0;
  }

  /** Readings the drainer has in flight are not evicted (the cloud may be committing them). */
  protectInFlight(check: (seq: number) => boolean): void {
    this.inFlight = check;
  }

  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.withRecovery(() => deleteAcked(this.db, this.stmts, this.counts, seqs));
    this.counts.refreshOldest(this.stmts);
  }

  reject(rejected: readonly { readonly seq: number; readonly reason: string }[]): void {
    if (rejected.length === 0) return;
    const now = this.options.clock.now();
    const moved = this.withRecovery(() => moveRejected(this.db, this.stmts, this.counts, rejected, now));
    this.counts.deadLetters += moved;
    if (moved > 0) this.metrics.deadLetters.inc({ reason: "rejected_by_cloud" }, moved);
    this.counts.refreshOldest(this.stmts);
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
      alarms: this.alarms.list(),
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
    this.queue.close();
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
      if (this.countGaps() > 0) this.counts.reload(this.stmts);
      this.fitBudgetToDisk();
      vacuumIfMostlyFree(this.db);
    } catch (err) {
      if (isCorruption(err)) this.recoverNow();
    }
  }

  private fitBudgetToDisk(): void {
    const fits = bytesThatFit(this.options.dir, this.db);
    if (fits === undefined) return;
    this.retention.limitBudget(fits);
    if (fits < this.options.budgetBytes) {
      this.alarms.raise("OUTBOX_DISK_SHORT", `the disk has room for ${Math.round(fits / 1e6)} MB of outbox, less than the budget`);
    } else this.alarms.clear("OUTBOX_DISK_SHORT");
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
    this.alarms.raise(
      "OUTBOX_CORRUPT_RECOVERED",
      `the outbox file was corrupt and is kept at ${report.movedTo}; ${report.salvagedReadings} readings salvaged, ` +
        `${report.lostRanges.length} unreadable ranges recorded as gaps`,
    );
  }
}

function guard(listener: () => void): void {
  try {
    listener();
  } catch {
    // A listener (the drainer) must not break the commit path; it logs its own errors.
  }
}

/** An `appendNow` waiting for its commit: settled through its methods, no closures per reading. */
class DirectAppend {
  readonly kind = "reading";
  constructor(
    readonly row: Omit<ReadingRow, "seq">,
    private readonly done: (err: Error | null, seq: number) => void,
    readonly awaited: boolean,
  ) {}
  resolve(seq: number): void {
    this.done(null, seq);
  }
  reject(err: Error): void {
    this.done(err, 0);
  }
}
