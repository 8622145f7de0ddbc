/**
 * The fleet tables in cloud.db: the device registry, edge state and commands. Portable SQL only (text, bigint, integer), so
 * PostgreSQL runs the same list; times are ms since the epoch, booleans integers 0/1. The names
 * keep their 0.1.0 numbering: databases made then adopt them (platform/module-migrations.ts).
 */
import { type Kysely, type Migration, sql } from "kysely";

export const fleetMigrations: Record<string, Migration> = {
  "0002_fleet": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("devices")
        .addColumn("id", "varchar(128)", (c) => c.primaryKey())
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("type", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("last_seen", "bigint")
        .addColumn("latest_json", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("edge_state")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("last_seen", "bigint")
        .addColumn("agent_version", "text")
        .addColumn("boot_id", "text")
        .addColumn("clock_offset_ms", "bigint")
        .execute();
      await db.schema
        .createTable("commands")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("device_id", "varchar(128)", (c) => c.notNull())
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("params_json", "text", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("message", "text")
        .addColumn("result_json", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("requested_by", "varchar(64)", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("commands_by_device").on("commands").columns(["device_id", "created_at"]).execute();
      await db.schema.createIndex("commands_by_status").on("commands").columns(["status", "edge_id"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("commands").execute();
      await db.schema.dropTable("edge_state").execute();
      await db.schema.dropTable("devices").execute();
    },
  },
  "0003_provisioned_devices": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("provisioned_devices")
        .addColumn("id", "varchar(128)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("type", "varchar(64)", (c) => c.notNull())
        .addColumn("order_id", "varchar(64)", (c) => c.notNull())
        .addColumn("claim_code_hash", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("claimed_at", "bigint")
        .execute();
      await db.schema.createIndex("provisioned_devices_by_order").on("provisioned_devices").column("order_id").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("provisioned_devices").execute();
    },
  },
  // One owner per device (fleet/device-owners.ts). Devices the registry already knew keep the edge
  // it last saw them on.
  "0012_device_owners": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("device_owners")
        .addColumn("device_id", "varchar(128)", (c) => c.primaryKey())
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("claimed_at", "bigint", (c) => c.notNull())
        .addColumn("claimed_by", "varchar(128)", (c) => c.notNull())
        .execute();
      await sql`INSERT INTO device_owners (device_id, edge_id, claimed_at, claimed_by) SELECT id, edge_id, 0, 'registry' FROM devices`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("device_owners").execute();
    },
  },
  // Remote configuration of edges (fleet/edge-configs.ts): one row per version.
  "0014_edge_configs": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("edge_configs")
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("yaml", "text", (c) => c.notNull())
        .addColumn("author", "varchar(128)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("state", "varchar(16)", (c) => c.notNull())
        .addColumn("problems_json", "text", (c) => c.notNull())
        .addColumn("reported_at", "bigint")
        .addColumn("restarted", "integer", (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint("edge_configs_pk", ["edge_id", "version"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("edge_configs").execute();
    },
  },
};
