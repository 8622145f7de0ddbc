/**
 * Statements written as SQL text, for the hot paths (a checkout runs ~60 statements): Kysely's
 * query builder builds an operation tree and compiles it to SQL on every call, which was the
 * largest share of the cloud's own CPU at checkout load after SQLite itself (bench/RESULTS.md,
 * "Commerce checkout: separate processes, precompiled statements"). A Precompiled statement skips
 * both: its SQL is written once, with `?` placeholders, and run on the caller's handle or
 * transaction through Kysely's executor, so it takes part in the caller's transaction exactly as
 * a built query would. On SQLite the statement cache (statement-cache.ts) prepares it once; on
 * PostgreSQL the placeholders become `$1…$n` and pg sends it with its parameters, as for a built
 * query. Write only SQL both engines accept the same way (both support `on conflict` and
 * `returning`); the texts must not contain `?` other than as placeholders.
 */
import { CompiledQuery, type Kysely, PostgresAdapter, type QueryResult } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: any domain's handle or transaction; the SQL names its own tables.
type Handle = Kysely<any>;

export class Precompiled<R = Record<string, unknown>> {
  private readonly postgres: string;

  constructor(readonly sql: string) {
    let n = 0;
    this.postgres = sql.replace(/\?/g, () => `$${++n}`);
  }

  /** Runs the statement; `rows` holds what a select or `returning` gave. */
  execute(db: Handle, parameters: readonly unknown[]): Promise<QueryResult<R>> {
    const text = db.getExecutor().adapter instanceof PostgresAdapter ? this.postgres : this.sql;
    return db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]));
  }

  async rows(db: Handle, parameters: readonly unknown[]): Promise<R[]> {
    return (await this.execute(db, parameters)).rows;
  }

  async first(db: Handle, parameters: readonly unknown[]): Promise<R | undefined> {
    return (await this.execute(db, parameters)).rows[0];
  }

  /** Rows changed (insert, update, delete). */
  async changes(db: Handle, parameters: readonly unknown[]): Promise<number> {
    return Number((await this.execute(db, parameters)).numAffectedRows ?? 0n);
  }
}

/**
 * An INSERT of 1…n rows: `head` is `insert into t (a, b, c)`, `tail` what follows the values
 * (e.g. an `on conflict` clause); one Precompiled per row count, made on first use.
 */
export class PrecompiledInsert {
  private readonly byCount = new Map<number, Precompiled>();
  private readonly row: string;

  constructor(
    private readonly head: string,
    columns: number,
    private readonly tail = "",
  ) {
    this.row = `(${Array.from({ length: columns }, () => "?").join(", ")})`;
  }

  /** Inserts `rows` (each the column values in the head's order); answers the rows inserted. */
  async insert(db: Handle, rows: readonly (readonly unknown[])[]): Promise<number> {
    if (rows.length === 0) return 0;
    let stmt = this.byCount.get(rows.length);
    if (!stmt) {
      stmt = new Precompiled(`${this.head} values ${Array.from({ length: rows.length }, () => this.row).join(", ")}${this.tail}`);
      if (this.byCount.size < 64) this.byCount.set(rows.length, stmt);
    }
    return stmt.changes(db, rows.flat());
  }
}
