/**
 * The alerts tables in cloud.db: alert rules and alerts. Portable SQL only (text, bigint, integer), so
 * PostgreSQL runs the same list; times are ms since the epoch, booleans integers 0/1. The names
 * keep their 0.1.0 numbering: databases made then adopt them (platform/module-migrations.ts).
 */
import type { Kysely, Migration } from "kysely";

export const alertsMigrations: Record<string, Migration> = {
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
};
