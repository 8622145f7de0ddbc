/** The integration module's table in cloud.db: events waiting for RabbitMQ's confirm. Portable SQL. */
import type { Kysely, Migration } from "kysely";

export const integrationMigrations: Record<string, Migration> = {
  "0100_amqp_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("amqp_outbox")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(64)", (c) => c.notNull())
        .addColumn("routing_key", "varchar(128)", (c) => c.notNull())
        .addColumn("body_json", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("published_at", "bigint")
        .execute();
      await db.schema.createIndex("amqp_outbox_pending").on("amqp_outbox").columns(["published_at", "created_at"]).execute();
    },
  },
};
