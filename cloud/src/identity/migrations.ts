/**
 * The identity tables in cloud.db: users, sessions, API tokens and the audit log. Portable SQL only (text, bigint, integer), so
 * PostgreSQL runs the same list; times are ms since the epoch, booleans integers 0/1. The names
 * keep their 0.1.0 numbering: databases made then adopt them (platform/module-migrations.ts).
 */
import type { Kysely, Migration } from "kysely";

export const identityMigrations: Record<string, Migration> = {
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
  // Accounts an admin disabled (identity/users.ts): their sessions and API tokens stop resolving.
  "0013_users_disabled": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("users").addColumn("disabled_at", "bigint").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("users").dropColumn("disabled_at").execute();
    },
  },
};
