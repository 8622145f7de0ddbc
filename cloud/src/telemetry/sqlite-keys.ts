/**
 * Integer keys for the edge and device ids of the SQLite telemetry store's readings (ADR 016): a
 * row and its `(device, ts)` index entry carry two small integers instead of two text ids, which
 * makes the readings INSERT, the store's hottest statement, about a third cheaper
 * (bench/RESULTS.md, "Backlog drain: integer keys"). A key, once committed, never changes, so
 * every process that opens the file may cache it.
 *
 * Keys are taken inside the commit's transaction. Until that transaction commits they are only
 * pending: a transaction that rolls back takes its new keys with it (`rollback`), and the integer
 * may be handed to another id next time.
 */
import type SqliteDatabase from "better-sqlite3";

export class SqliteKeys {
  private readonly known = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly find: SqliteDatabase.Statement;
  private readonly add: SqliteDatabase.Statement;

  /** `table` has `key INTEGER PRIMARY KEY` and a unique text column `column`. */
  constructor(db: SqliteDatabase.Database, table: string, column: string) {
    this.find = db.prepare(`SELECT key FROM ${table} WHERE ${column} = ?`).pluck();
    this.add = db.prepare(`INSERT INTO ${table} (${column}) VALUES (?) RETURNING key`).pluck();
  }

  /** The key of `id`, taken if the file has none yet; only inside a write transaction. */
  take(id: string): number {
    const key = this.known.get(id) ?? this.pending.get(id);
    if (key !== undefined) return key;
    const found = this.find.get(id) as number | undefined;
    if (found !== undefined) {
      this.known.set(id, found);
      return found;
    }
    const taken = this.add.get(id) as number;
    this.pending.set(id, taken);
    return taken;
  }

  /** The transaction that took the pending keys committed. */
  commit(): void {
    for (const [id, key] of this.pending) this.known.set(id, key);
    this.pending.clear();
  }

  /** The transaction that took the pending keys rolled back. */
  rollback(): void {
    this.pending.clear();
  }
}
