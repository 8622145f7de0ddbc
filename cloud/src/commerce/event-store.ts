/**
 * The order event store: one append-only stream per order. Each event has the stream's next
 * version; (stream_id, version) is the primary key, so two writers that read the same version
 * and append cannot both succeed — the second gets ConcurrencyError and re-reads (optimistic
 * concurrency: a concurrent write is refused and retried, never lost). Events are never updated
 * or deleted.
 */
import { BvError } from "@bitvelocity/common";
import type { Kysely, Transaction } from "kysely";
import { Precompiled, PrecompiledInsert } from "../platform/precompiled.js";
import type { CommerceTables } from "./tables.js";

export interface StoredEvent<E = unknown> {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly data: E;
  readonly at: number;
}

export class ConcurrencyError extends BvError {
  constructor(streamId: string, expected: number) {
    super("CONFLICT", "transient", `stream ${streamId} moved past version ${expected}`);
  }
}

/** SQLite's and PostgreSQL's unique-violation codes (one helper reads driver error codes). */
export function isUniqueViolation(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? Reflect.get(err, "code") : undefined;
  return code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505";
}

/** The append and the stream read, written out (every saga step runs them): see platform/precompiled.ts. */
const APPEND = new PrecompiledInsert('insert into "commerce_events" ("stream_id", "version", "type", "data_json", "at")', 5);
const LOAD = new Precompiled<CommerceTables["commerce_events"]>(
  'select "stream_id", "version", "type", "data_json", "at" from "commerce_events" where "stream_id" = ? order by "version"',
);

export class EventStore {
  constructor(private readonly db: Kysely<CommerceTables>) {}

  /**
   * Appends `events` after `expectedVersion` (0 for a new stream) inside the caller's transaction;
   * returns them as stored. Throws ConcurrencyError if the stream is past that version.
   */
  async append<E extends { type: string }>(
    tx: Transaction<CommerceTables>,
    streamId: string,
    expectedVersion: number,
    events: readonly E[],
    at: number,
  ): Promise<StoredEvent<E>[]> {
    const stored = events.map((e, i) => ({ streamId, version: expectedVersion + i + 1, type: e.type, data: e, at }));
    if (stored.length === 0) return [];
    try {
      await APPEND.insert(
        tx,
        stored.map((e) => [streamId, e.version, e.type, JSON.stringify(e.data), at]),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConcurrencyError(streamId, expectedVersion);
      throw err;
    }
    return stored;
  }

  async load<E>(streamId: string, db: Kysely<CommerceTables> | Transaction<CommerceTables> = this.db): Promise<StoredEvent<E>[]> {
    const rows = await LOAD.rows(db, [streamId]);
    return rows.map((r) => ({
      streamId: r.stream_id,
      version: r.version,
      type: r.type,
      data: JSON.parse(r.data_json) as E,
      at: Number(r.at),
    }));
  }

  /** Every stream id, in order (for rebuilding read models). */
  async streams(): Promise<string[]> {
    const rows = await this.db.selectFrom("commerce_events").select("stream_id").distinct().orderBy("stream_id").execute();
    return rows.map((r) => r.stream_id);
  }
}
