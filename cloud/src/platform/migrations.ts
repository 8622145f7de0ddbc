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
  "0010_api_tokens_audit": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(128)", (c) => c.notNull())
        .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("username", "varchar(64)", (c) => c.notNull().references("users.username").onDelete("cascade"))
        .addColumn("role", "varchar(16)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint")
        .addColumn("last_used_at", "bigint")
        .addColumn("revoked_at", "bigint")
        .execute();
      await db.schema
        .createTable("audit_log")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("actor", "varchar(64)", (c) => c.notNull())
        .addColumn("via", "varchar(16)", (c) => c.notNull())
        .addColumn("action", "varchar(64)", (c) => c.notNull())
        .addColumn("target", "varchar(256)", (c) => c.notNull())
        .addColumn("detail_json", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("audit_by_time").on("audit_log").column("at").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("audit_log").execute();
      await db.schema.dropTable("api_tokens").execute();
    },
  },
  "0011_alerts": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("alert_rules")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(128)", (c) => c.notNull())
        .addColumn("kind", "varchar(32)", (c) => c.notNull())
        .addColumn("severity", "varchar(16)", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull())
        .addColumn("params_json", "text", (c) => c.notNull())
        .addColumn("created_by", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("alerts")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("rule_id", "varchar(64)", (c) => c.notNull())
        .addColumn("rule_name", "varchar(128)", (c) => c.notNull())
        .addColumn("kind", "varchar(32)", (c) => c.notNull())
        .addColumn("severity", "varchar(16)", (c) => c.notNull())
        .addColumn("subject_kind", "varchar(16)", (c) => c.notNull())
        .addColumn("subject_id", "varchar(128)", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("value", "double precision")
        .addColumn("state", "varchar(16)", (c) => c.notNull())
        .addColumn("active", "integer", (c) => c.notNull())
        .addColumn("fired_at", "bigint", (c) => c.notNull())
        .addColumn("cleared_at", "bigint")
        .addColumn("acknowledged_at", "bigint")
        .addColumn("acknowledged_by", "varchar(64)")
        .addColumn("resolved_at", "bigint")
        .addColumn("resolved_by", "varchar(64)")
        .execute();
      await db.schema.createIndex("alerts_by_state").on("alerts").columns(["state", "fired_at"]).execute();
      await db.schema.createIndex("alerts_by_rule_subject").on("alerts").columns(["rule_id", "subject_id"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("alerts").execute();
      await db.schema.dropTable("alert_rules").execute();
    },
  },
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
