/**
 * The integration module's tables in cloud.db (portable SQL): events waiting for RabbitMQ's
 * confirm; the fulfilment updates already processed (by message id, for idempotency); and the
 * updates held until the stage before them arrives.
 */
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
  "0101_fulfilment": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("fulfilment_processed")
        .addColumn("message_id", "varchar(200)", (c) => c.primaryKey())
        .addColumn("order_id", "varchar(200)", (c) => c.notNull())
        .addColumn("stage", "varchar(16)", (c) => c.notNull())
        .addColumn("outcome", "varchar(16)", (c) => c.notNull())
        .addColumn("processed_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("fulfilment_parked")
        .addColumn("message_id", "varchar(200)", (c) => c.primaryKey())
        .addColumn("order_id", "varchar(200)", (c) => c.notNull())
        .addColumn("body_json", "text", (c) => c.notNull())
        .addColumn("parked_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("fulfilment_parked_order").on("fulfilment_parked").columns(["order_id"]).execute();
    },
  },
};
