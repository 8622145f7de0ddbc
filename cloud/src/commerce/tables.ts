/** The commerce tables in cloud.db (created by ./migrations.ts). Money in integer minor units; times in ms. */
export type CommerceTables = {
  commerce_products: {
    sku: string;
    name: string;
    kind: string;
    device_type: string | null;
    price_minor: number;
    currency: string;
    /** Tax rate in basis points (2000 = 20 %): an integer, like the money. */
    tax_rate_bp: number;
    active: number;
    updated_at: number;
  };
  commerce_stock: { sku: string; location: string; on_hand: number; reserved: number; updated_at: number };
  commerce_reservations: {
    id: string;
    order_id: string;
    sku: string;
    location: string;
    quantity: number;
    state: string;
    expires_at: number;
    created_at: number;
  };
  /** The event store: one append-only stream per order; (stream_id, version) is unique. */
  commerce_events: { stream_id: string; version: number; type: string; data_json: string; at: number };
  commerce_idempotency: { key: string; request_hash: string; order_id: string; created_at: number };
  /** The checkout sagas that have not finished, and when each runs next. */
  commerce_sagas: { order_id: string; status: string; attempts: number; next_run_at: number; updated_at: number };
  commerce_order_view: {
    order_id: string;
    site_id: string;
    placed_by: string;
    status: string;
    subtotal_minor: number;
    tax_minor: number;
    total_minor: number;
    currency: string;
    lines_json: string;
    reason: string | null;
    placed_at: number;
    updated_at: number;
    version: number;
    label_status: string;
    tracking_number: string | null;
  };
  /** Orders whose shipping label is owed: pending (due at next_run_at), done, or failed (refused by the carrier). */
  commerce_labels: { order_id: string; status: string; attempts: number; next_run_at: number; updated_at: number };
  commerce_order_timeline: { order_id: string; version: number; type: string; step: string; status: string; detail: string; at: number };
  commerce_sales_daily: { day: string; currency: string; sku: string; quantity: number; total_minor: number };
  commerce_shelves: {
    device_id: string;
    site_id: string;
    sku: string | null;
    item_count: number | null;
    low_threshold: number;
    high_threshold: number;
    low: number;
    updated_at: number;
  };
  commerce_drafts: {
    id: string;
    site_id: string;
    shelf_device_id: string;
    sku: string;
    quantity: number;
    status: string;
    created_at: number;
  };
};
