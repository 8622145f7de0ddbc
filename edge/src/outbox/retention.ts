/**
 * Bounded storage (DESIGN.md §3 promise 4): the byte budget, each lane's full-policy and TTL.
 * Every reading that leaves the outbox without reaching the cloud is accounted for by a gap
 * record (lane, seq range, count, time range, reason) written in the same transaction.
 * The control lane is never evicted.
 */
import type Database from "better-sqlite3";
import type { ControlQueue } from "./control.js";
import { reserveSeqs, usedBytes } from "./schema.js";
import type { GapRecordInput, Lane } from "./types.js";

export type FullPolicy = "drop-oldest" | "drop-newest" | "reject";

export interface LanePolicy {
  readonly policy: FullPolicy;
  /** 0 = readings never expire. */
  readonly ttlMs: number;
}

export interface RetentionOptions {
  readonly budgetBytes: number;
  readonly lanes: { readonly telemetry: LanePolicy; readonly alarm: LanePolicy };
}

/** What happens to the incoming readings of a lane in one group commit. */
export type Admission = "store" | "drop" | "reject";

/** Evicted first → last. An incoming lane may only evict lanes at or below its own priority. */
const EVICTION_ORDER: readonly Exclude<Lane, "control">[] = ["telemetry", "alarm"];
/** After an eviction, free this much below the budget, so that not every commit evicts. */
const HEADROOM = 0.05;
const SCAN_CHUNK = 2000;
/** Readings an eviction deleted from the readings table, and their record bytes. */
export interface Deleted {
  readonly count: number;
  readonly bytes: number;
}
const NONE_STORED: Deleted = { count: 0, bytes: 0 };

interface VictimRow {
  seq: number;
  lane: string;
  bytes: number;
  edge_time_ms: number;
  clock_synced: number;
}

export class Retention {
  private readonly stmts;
  /** Disk bytes per record byte, measured; starts with a typical value. */
  private ratio = 2;
  private effectiveBudget: number;

  constructor(
    private readonly db: Database.Database,
    private readonly control: ControlQueue,
    private readonly options: RetentionOptions,
    /** A gap record; `stored` is what it deleted from the readings table (none for drop-newest). */
    private readonly onEvicted: (gap: GapRecordInput, stored: Deleted) => void,
    private readonly isProtected: (seq: number) => boolean = () => false,
  ) {
    this.effectiveBudget = options.budgetBytes;
    this.stmts = {
      scan: db.prepare("SELECT seq, lane, bytes, edge_time_ms, clock_synced FROM readings WHERE seq > ? ORDER BY seq LIMIT ?"),
      // A run's seqs in one statement: every reading between its first and last is the run's (see evictWhile).
      deleteRun: db.prepare("DELETE FROM readings WHERE seq BETWEEN ? AND ?"),
      // Index readings_by_lane: the lane's oldest reading without scanning the other lanes.
      firstOfLane: db.prepare<[string], VictimRow>(
        "SELECT seq, lane, bytes, edge_time_ms, clock_synced FROM readings WHERE lane = ? ORDER BY seq LIMIT 1",
      ),
    };
  }

  get budgetBytes(): number {
    return this.effectiveBudget;
  }

  /** Lowers the budget below what the disk could take (disk full, or little free space). */
  limitBudget(bytes: number): void {
    this.effectiveBudget = Math.max(64 * 1024, Math.min(this.options.budgetBytes, Math.floor(bytes)));
  }

  /** Re-measures disk bytes per record byte (call after commits). */
  measure(recordBytes: number): void {
    if (recordBytes < 256 * 1024) return;
    this.ratio = Math.min(8, Math.max(1, usedBytes(this.db) / recordBytes));
  }

  /**
   * Makes room for `incoming` record bytes per lane, inside the caller's transaction. Returns,
   * per lane, whether its readings are stored, dropped (drop-newest) or refused (reject).
   */
  admit(incoming: ReadonlyMap<Lane, number>): Map<Lane, Admission> {
    const result = new Map<Lane, Admission>();
    let projected = usedBytes(this.db);
    for (const bytes of incoming.values()) projected += bytes * this.ratio;
    const budget = this.effectiveBudget;
    for (const [lane, bytes] of incoming) {
      if (lane === "control" || projected <= budget) {
        result.set(lane, "store");
        continue;
      }
      const policy = this.options.lanes[lane].policy;
      if (policy === "drop-oldest") {
        const target = projected - budget * (1 - HEADROOM);
        const freed = this.evictOldest(lane, target / this.ratio) * this.ratio;
        projected -= freed;
        if (projected <= budget) {
          result.set(lane, "store");
          continue;
        }
        // Nothing left this lane may evict: refusing keeps the data with the devices.
        result.set(lane, "reject");
      } else {
        result.set(lane, policy === "drop-newest" ? "drop" : "reject");
      }
      projected -= bytes * this.ratio;
    }
    return result;
  }

  /** Accounts for readings accepted but dropped (drop-newest): their seqs are reserved, a gap records them. */
  recordDropped(lane: Lane, count: number, timeMs: number): { first: number; last: number } {
    const range = reserveSeqs(this.db, count);
    this.gap(
      { lane, firstSeq: range.first, lastSeq: range.last, count, fromTimeMs: timeMs, toTimeMs: timeMs, reason: "budget" },
      NONE_STORED,
    );
    return range;
  }

  /** Removes readings older than their lane's TTL (only those stamped by a synchronised clock). */
  expire(nowMs: number): number {
    let removed = 0;
    for (const lane of EVICTION_ORDER) {
      const ttl = this.options.lanes[lane].ttlMs;
      if (ttl <= 0) continue;
      const cutoff = nowMs - ttl;
      const expired = (row: VictimRow): boolean => row.clock_synced === 1 && row.edge_time_ms < cutoff;
      // Eviction stops at the first reading of the lane that is kept: when that is the oldest,
      // nothing expires (the common case, decided without a scan).
      const first = this.stmts.firstOfLane.get(lane);
      if (!first || !expired(first)) continue;
      removed += this.evictWhile(lane, expired, "ttl");
    }
    return removed;
  }

  /** Evicts the oldest readings of lanes `lane` may evict until `recordBytes` are freed; returns the bytes freed. */
  private evictOldest(lane: Exclude<Lane, "control">, recordBytes: number): number {
    let freed = 0;
    for (const victim of EVICTION_ORDER) {
      if (this.options.lanes[victim].policy !== "drop-oldest") continue;
      freed += this.evictBytes(victim, recordBytes - freed);
      if (freed >= recordBytes || victim === lane) break;
    }
    return freed;
  }

  private evictBytes(lane: Lane, recordBytes: number): number {
    let freed = 0;
    this.evictWhile(
      lane,
      (row) => {
        if (freed >= recordBytes) return false;
        freed += row.bytes;
        return true;
      },
      "budget",
    );
    return freed;
  }

  /**
   * Deletes the lane's readings from the oldest while `take` says so, skipping readings in flight
   * (they may be committed by the cloud right now). Each run of consecutive seqs becomes one gap
   * record, so every seq inside a gap range is missing: a kept reading of another lane, or one in
   * flight, ends the run. A run is deleted with one range statement when it closes: the scan saw
   * every reading inside it, and each was the run's (nothing else writes inside the transaction).
   */
  private evictWhile(lane: Lane, take: (row: VictimRow) => boolean, reason: GapRecordInput["reason"]): number {
    let removed = 0;
    let run: { first: VictimRow; last: VictimRow; count: number; bytes: number } | undefined;
    const close = (): void => {
      if (!run) return;
      const { first, last, count, bytes } = run;
      const deleted = this.stmts.deleteRun.run(first.seq, last.seq).changes;
      if (deleted !== count) throw new Error(`outbox eviction deleted ${deleted} readings of a run of ${count}`);
      this.gap(
        {
          lane,
          firstSeq: first.seq,
          lastSeq: last.seq,
          count,
          fromTimeMs: first.edge_time_ms,
          toTimeMs: last.edge_time_ms,
          reason,
        },
        { count, bytes },
      );
      run = undefined;
    };
    // Rows before the lane's oldest belong to other lanes and would only be skipped.
    const first = this.stmts.firstOfLane.get(lane);
    if (!first) return 0;
    let after = first.seq - 1;
    for (;;) {
      const rows = this.stmts.scan.all(after, SCAN_CHUNK) as VictimRow[];
      let stop = rows.length < SCAN_CHUNK;
      for (const row of rows) {
        after = row.seq;
        if (row.lane !== lane || this.isProtected(row.seq)) {
          close();
          continue;
        }
        if (!take(row)) {
          stop = true;
          break;
        }
        removed++;
        if (run) {
          run.last = row;
          run.count++;
          run.bytes += row.bytes;
        } else run = { first: row, last: row, count: 1, bytes: row.bytes };
      }
      if (stop) break;
    }
    close();
    return removed;
  }

  private gap(gap: GapRecordInput, stored: Deleted): void {
    this.control.appendGap(gap);
    this.onEvicted(gap, stored);
  }
}
