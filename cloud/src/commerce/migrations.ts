/**
 * The commerce tables in cloud.db. Portable SQL only (text, integer, bigint), so PostgreSQL runs
 * the same list. Stock is guarded twice: the reserve statement only moves stock that is there
 * (inventory.ts), and CHECK constraints refuse a negative count whatever the code does.
 */
import { type Kysely, type Migration, sql } from "kysely";

export const commerceMigrations: Record<string, Migration> = {
  "0001_commerce": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("commerce_products")
        .addColumn("sku", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(128)", (c) => c.notNull())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addColumn("device_type", "varchar(64)")
        .addColumn("price_minor", "bigint", (c) => c.notNull())
        .addColumn("currency", "varchar(3)", (c) => c.notNull())
        .addColumn("tax_rate_bp", "integer", (c) => c.notNull())
        .addColumn("active", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addCheckConstraint("commerce_products_price", sql`price_minor >= 0 and tax_rate_bp >= 0`)
        .execute();
      await db.schema
        .createTable("commerce_stock")
        .addColumn("sku", "varchar(64)", (c) => c.notNull())
        .addColumn("location", "varchar(64)", (c) => c.notNull())
        .addColumn("on_hand", "integer", (c) => c.notNull())
        .addColumn("reserved", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("commerce_stock_pk", ["sku", "location"])
        .addCheckConstraint("commerce_stock_never_negative", sql`reserved >= 0 and on_hand >= reserved`)
        .execute();
      await db.schema
        .createTable("commerce_reservations")
        .addColumn("id", "varchar(80)", (c) => c.primaryKey())
        .addColumn("order_id", "varchar(64)", (c) => c.notNull())
        .addColumn("sku", "varchar(64)", (c) => c.notNull())
        .addColumn("location", "varchar(64)", (c) => c.notNull())
        .addColumn("quantity", "integer", (c) => c.notNull())
        .addColumn("state", "varchar(16)", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("commerce_reservations_by_order").on("commerce_reservations").column("order_id").execute();
      await db.schema.createIndex("commerce_reservations_by_expiry").on("commerce_reservations").columns(["state", "expires_at"]).execute();
      await db.schema
        .createTable("commerce_events")
        .addColumn("stream_id", "varchar(64)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("type", "varchar(48)", (c) => c.notNull())
        .addColumn("data_json", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("commerce_events_pk", ["stream_id", "version"])
        .execute();
      await db.schema
        .createTable("commerce_idempotency")
        .addColumn("key", "varchar(300)", (c) => c.primaryKey())
        .addColumn("request_hash", "varchar(64)", (c) => c.notNull())
        .addColumn("order_id", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("commerce_sagas")
        .addColumn("order_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("next_run_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("commerce_sagas_due").on("commerce_sagas").columns(["status", "next_run_at"]).execute();
      await db.schema
        .createTable("commerce_order_view")
        .addColumn("order_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("placed_by", "varchar(64)", (c) => c.notNull())
        .addColumn("status", "varchar(24)", (c) => c.notNull())
        .addColumn("subtotal_minor", "bigint", (c) => c.notNull())
        .addColumn("tax_minor", "bigint", (c) => c.notNull())
        .addColumn("total_minor", "bigint", (c) => c.notNull())
        .addColumn("currency", "varchar(3)", (c) => c.notNull())
        .addColumn("lines_json", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("placed_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("commerce_order_view_by_site").on("commerce_order_view").columns(["site_id", "placed_at"]).execute();
      await db.schema
        .createTable("commerce_order_timeline")
        .addColumn("order_id", "varchar(64)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("type", "varchar(48)", (c) => c.notNull())
        .addColumn("step", "varchar(32)", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("detail", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("commerce_order_timeline_pk", ["order_id", "version"])
        .execute();
      await db.schema
        .createTable("commerce_sales_daily")
        .addColumn("day", "varchar(10)", (c) => c.notNull())
        .addColumn("currency", "varchar(3)", (c) => c.notNull())
        .addColumn("sku", "varchar(64)", (c) => c.notNull())
        .addColumn("quantity", "integer", (c) => c.notNull())
        .addColumn("total_minor", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("commerce_sales_daily_pk", ["day", "currency", "sku"])
        .execute();
      await db.schema
        .createTable("commerce_shelves")
        .addColumn("device_id", "varchar(128)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("sku", "varchar(64)")
        .addColumn("item_count", "integer")
        .addColumn("low_threshold", "integer", (c) => c.notNull())
        .addColumn("high_threshold", "integer", (c) => c.notNull())
        .addColumn("low", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("commerce_drafts")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("site_id", "varchar(64)", (c) => c.notNull())
        .addColumn("shelf_device_id", "varchar(128)", (c) => c.notNull())
        .addColumn("sku", "varchar(64)", (c) => c.notNull())
        .addColumn("quantity", "integer", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of [
        "commerce_drafts",
        "commerce_shelves",
        "commerce_sales_daily",
        "commerce_order_timeline",
        "commerce_order_view",
        "commerce_sagas",
        "commerce_idempotency",
        "commerce_events",
        "commerce_reservations",
        "commerce_stock",
        "commerce_products",
      ])
        await db.schema.dropTable(t).execute();
    },
  },
  /** Shipping labels: the order view shows the label's status and tracking number; commerce_labels schedules the carrier calls. */
  "0002_shipping_labels": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("commerce_order_view")
        .addColumn("label_status", "varchar(16)", (c) => c.notNull().defaultTo("none"))
        .execute();
      await db.schema.alterTable("commerce_order_view").addColumn("tracking_number", "varchar(64)").execute();
      await db.schema
        .createTable("commerce_labels")
        .addColumn("order_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("next_run_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("commerce_labels_due").on("commerce_labels").columns(["status", "next_run_at"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("commerce_labels").execute();
      await db.schema.alterTable("commerce_order_view").dropColumn("tracking_number").execute();
      await db.schema.alterTable("commerce_order_view").dropColumn("label_status").execute();
    },
  },
};
