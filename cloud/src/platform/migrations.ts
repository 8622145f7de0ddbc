/**
 * The platform tables in cloud.db: the transactional outbox of domain events (platform/event-outbox.ts). Portable SQL only (text, bigint, integer), so
 * PostgreSQL runs the same list; times are ms since the epoch, booleans integers 0/1. The names
 * keep their 0.1.0 numbering: databases made then adopt them (platform/module-migrations.ts).
 */
import type { Kysely, Migration } from "kysely";

export const platformMigrations: Record<string, Migration> = {
  "0004_event_outbox": {
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
