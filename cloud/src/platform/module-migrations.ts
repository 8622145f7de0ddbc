/**
 * One runner for every module's migrations (DESIGN.md §8), on SQLite and PostgreSQL alike.
 * Each module's list is applied in key order and recorded in its own table
 * (`bv_migrations_<module>`), so modules evolve their tables independently.
 *
 * Upgrading a database made before modules had their own lists (0.1.0 recorded every migration
 * in Kysely's single `kysely_migration` table): a module whose table is still empty adopts the
 * records of its own migrations from that table, so nothing is re-run and no data is touched.
 */
import { BvError } from "@bitvelocity/common";
import { type Kysely, type Migration, Migrator, sql } from "kysely";

export interface MigrationSet {
  /** The module's name: lower-case letters, digits and `_`/`-`. */
  readonly name: string;
  readonly migrations: Readonly<Record<string, Migration>>;
}

const LEGACY_TABLE = "kysely_migration";

type MigrationTables = Record<string, { name: string; timestamp: string }>;

export function migrationTable(module: string): string {
  return `bv_migrations_${module.replace(/-/g, "_")}`;
}

// biome-ignore lint/suspicious/noExplicitAny: the runner works on any schema.
type AnyDb = Kysely<any>;

/** Applies every set in order; on failure throws DB_MIGRATION_FAILED naming module and migration. */
export async function migrateModules(db: AnyDb, sets: readonly MigrationSet[], where: string): Promise<void> {
  const names = new Set<string>();
  for (const set of sets) {
    if (!/^[a-z][a-z0-9_-]{0,40}$/.test(set.name) || names.has(set.name)) {
      throw new BvError("DB_MIGRATION_FAILED", "fatal", `module name ${JSON.stringify(set.name)} is invalid or used twice`);
    }
    names.add(set.name);
  }
  const legacy = await legacyRecords(db);
  // On PostgreSQL Kysely looks for its tables in every schema unless told which: another schema's
  // lock table would then hide that this one has none.
  const schema = await currentSchema(db);
  for (const set of sets) {
    const table = migrationTable(set.name);
    if (legacy.size > 0) await adoptLegacy(db, table, set, legacy);
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => ({ ...set.migrations }) },
      migrationTableName: table,
      migrationLockTableName: `${table}_lock`,
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
      throw new BvError("DB_MIGRATION_FAILED", "fatal", `migration ${set.name}/${failed} failed on ${where}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/** name → timestamp of every migration the pre-module layout recorded (empty on a new database). */
async function legacyRecords(db: AnyDb): Promise<Map<string, string>> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  // On PostgreSQL the introspection lists every schema; only the one in use counts.
  const schema = await currentSchema(db);
  if (!tables.some((t) => t.name === LEGACY_TABLE && (schema === undefined || t.schema === schema))) return new Map();
  const rows = await (db as Kysely<MigrationTables>).selectFrom(LEGACY_TABLE).select(["name", "timestamp"]).execute();
  return new Map(rows.map((r) => [r.name, r.timestamp]));
}

/** PostgreSQL's current schema; undefined on SQLite (which has no such function). */
async function currentSchema(db: AnyDb): Promise<string | undefined> {
  try {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    return rows[0]?.schema;
  } catch {
    return undefined;
  }
}

async function adoptLegacy(db: AnyDb, table: string, set: MigrationSet, legacy: Map<string, string>): Promise<void> {
  const adopt = Object.keys(set.migrations).filter((name) => legacy.has(name));
  if (adopt.length === 0) return;
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn("name", "varchar(255)", (c) => c.notNull().primaryKey())
    .addColumn("timestamp", "varchar(255)", (c) => c.notNull())
    .execute();
  const { count } = await (db as Kysely<MigrationTables>)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  if (Number(count) > 0) return;
  await (db as Kysely<MigrationTables>)
    .insertInto(table)
    .values(adopt.map((name) => ({ name, timestamp: legacy.get(name) as string })))
    .execute();
}
