/**
 * The ingest tables in cloud.db: what the edges' links record: gap records, dead letters, boots and edge tokens. Portable SQL only (text, bigint, integer), so
 * PostgreSQL runs the same list; times are ms since the epoch, booleans integers 0/1. The names
 * keep their 0.1.0 numbering: databases made then adopt them (platform/module-migrations.ts).
 */
import type { Kysely, Migration } from "kysely";

export const ingestMigrations: Record<string, Migration> = {
  "0003_edge_link": {
    async up(db: Kysely<unknown>) {
      // Gap records: readings an edge had to evict, each range stored once (replays are idempotent).
      await db.schema
        .createTable("edge_gaps")
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("lane", "varchar(16)", (c) => c.notNull())
        .addColumn("first_seq", "bigint", (c) => c.notNull())
        .addColumn("last_seq", "bigint", (c) => c.notNull())
        .addColumn("count", "bigint", (c) => c.notNull())
        .addColumn("from_ms", "bigint", (c) => c.notNull())
        .addColumn("to_ms", "bigint", (c) => c.notNull())
        .addColumn("reason", "varchar(32)", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("edge_gaps_pk", ["edge_id", "lane", "first_seq", "last_seq"])
        .execute();
      await db.schema.createIndex("edge_gaps_by_time").on("edge_gaps").columns(["edge_id", "received_at"]).execute();
      // Dead letters: refused at the edge (ref = the edge's control id) or by the cloud (ref = seq).
      await db.schema
        .createTable("dead_letters")
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("source", "varchar(8)", (c) => c.notNull())
        .addColumn("ref", "bigint", (c) => c.notNull())
        .addColumn("device_id", "varchar(128)", (c) => c.notNull())
        .addColumn("seq", "bigint")
        .addColumn("topic", "text")
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("payload_preview", "text", (c) => c.notNull())
        .addColumn("time_ms", "bigint", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("dead_letters_pk", ["edge_id", "source", "ref"])
        .execute();
      await db.schema.createIndex("dead_letters_by_time").on("dead_letters").columns(["edge_id", "received_at"]).execute();
      // Each edge boot's anchor: wall time at uptime 0, measured by the cloud at a handshake.
      await db.schema
        .createTable("edge_boots")
        .addColumn("edge_id", "varchar(64)", (c) => c.notNull())
        .addColumn("boot_id", "varchar(64)", (c) => c.notNull())
        .addColumn("anchor_ms", "bigint", (c) => c.notNull())
        .addColumn("first_seen", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("edge_boots_pk", ["edge_id", "boot_id"])
        .execute();
      // An edge's token as rotated or revoked at run time; it overrides the token hash in the config.
      await db.schema
        .createTable("edge_tokens")
        .addColumn("edge_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("token_hash", "text")
        .addColumn("revoked", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("updated_by", "varchar(64)", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("edge_tokens").execute();
      await db.schema.dropTable("edge_boots").execute();
      await db.schema.dropTable("dead_letters").execute();
      await db.schema.dropTable("edge_gaps").execute();
    },
  },
};
