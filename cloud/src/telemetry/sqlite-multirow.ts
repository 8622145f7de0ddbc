/** Multi-row statements for the SQLite telemetry store's readings insert and rollup upserts. */
import type SqliteDatabase from "better-sqlite3";

/** Rows per multi-row statement (SQLite allows 32,766 variables; 500 rows keeps statements small). */
const MAX_ROWS = 500;
const SQLITE_MAX_VARIABLES = 32_766;

/** One multi-row statement per row count, prepared on first use; runs rows in chunks. */
export class MultiRow {
  private readonly statements = new Map<number, SqliteDatabase.Statement>();
  readonly chunk: number;

  constructor(
    private readonly db: SqliteDatabase.Database,
    private readonly head: string,
    private readonly columns: number,
    private readonly tail: string,
  ) {
    this.chunk = Math.min(MAX_ROWS, Math.floor(SQLITE_MAX_VARIABLES / columns));
  }

  statement(rows: number): SqliteDatabase.Statement {
    let stmt = this.statements.get(rows);
    if (!stmt) {
      const row = `(${new Array(this.columns).fill("?").join(", ")})`;
      stmt = this.db.prepare(`${this.head} VALUES ${new Array(rows).fill(row).join(", ")} ${this.tail}`);
      this.statements.set(rows, stmt);
    }
    return stmt;
  }

  /** Runs `params` (rows × columns values, flat) in chunks. */
  run(params: unknown[]): void {
    const width = this.chunk * this.columns;
    for (let at = 0; at < params.length; at += width) {
      const part = params.slice(at, at + width);
      this.statement(part.length / this.columns).run(part);
    }
  }
}
