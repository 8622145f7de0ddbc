/**
 * The relational schema of cloud.db, as Kysely migrations defined in code. Portable SQL only
 * (text, bigint, integer; no SQLite-only types) so PostgreSQL can run the same list later.
 * Times are ms since the epoch in bigint columns; booleans are integers 0/1.
 */
import type { Kysely, Migration } from "kysely";

export const migrations: Record<string, Migration> = {
  "0001_identity": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("username", "varchar(64)", (c) => c.primaryKey())
        .addColumn("role", "varchar(16)", (c) => c.notNull())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("source", "varchar(16)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("token_hash", "varchar(64)", (c) => c.primaryKey())
        .addColumn("username", "varchar(64)", (c) => c.notNull().references("users.username").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_by_expiry").on("sessions").column("expires_at").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("sessions").execute();
      await db.schema.dropTable("users").execute();
    },
  },
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
  "0003_event_outbox": {
    // The transactional outbox (event-outbox.ts): a domain writes its event in the same transaction
    // as its state change; the relay delivers and marks it. Ordered by created_at, then id.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("event_outbox")
        .addColumn("id", "varchar(36)", (c) => c.primaryKey())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("payload_json", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("published_at", "bigint")
        .execute();
      await db.schema.createIndex("event_outbox_pending").on("event_outbox").columns(["published_at", "created_at"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("event_outbox").execute();
    },
  },
};
