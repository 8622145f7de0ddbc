/**
 * A prepared-statement cache in front of better-sqlite3 for Kysely's SQLite dialect, which
 * prepares every query anew: at checkout load `prepare` was 7 % of the cloud's CPU for ~95
 * statements per order, nearly all of them the same few dozen SQL strings (bench/RESULTS.md,
 * "Commerce checkout"). better-sqlite3 re-prepares a cached statement itself when the schema
 * changes. Kysely never streams on this handle here, so a statement is never busy when reused.
 */
import type SqliteDatabase from "better-sqlite3";
import type { SqliteDatabase as KyselySqlite } from "kysely";

export function cachingStatements(native: SqliteDatabase.Database, limit = 512): KyselySqlite {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Most recently used last: the Map's order is the eviction order.
        cache.delete(sql);
      } else {
        stmt = native.prepare(sql);
        if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt as unknown as ReturnType<KyselySqlite["prepare"]>;
    },
    close() {
      cache.clear();
      native.close();
    },
  };
}
