/**
 * Commerce: the shop's catalog (everyone reads; admins edit), stock per location, orders placed
 * through the checkout saga (operators), their timelines, sales, smart-shelf stock and
 * replenishment drafts. Money is always integer minor units with an ISO 4217 currency; tax rates
 * are integer basis points (2000 = 20 %). Totals are computed by the server, never taken from a request.
 */
import { z } from "zod";
import { EpochMs, flagQuery, intQuery, route } from "./common.js";

export const ProductKind = z.enum(["device", "consumable", "shelf-item"]);
export type ProductKind = z.infer<typeof ProductKind>;

const sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected 1-64 letters, digits, '.', '_' or '-'")
  .meta({ description: "stock keeping unit" });
const currency = z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as EUR");
const id = z.string().min(1).max(128);

export const Product = z.object({
  sku: z.string(),
  name: z.string(),
  kind: ProductKind,
  /** For kind "device": the catalog device type a purchase provisions. */
  deviceType: z.string().nullable(),
  priceMinor: z.number().int(),
  currency: z.string(),
  taxRateBp: z.number().int(),
  active: z.boolean(),
  /** Units that can be ordered now: on hand minus reserved at the shop's warehouse. */
  available: z.number().int(),
  updatedAt: EpochMs,
});
export type Product = z.infer<typeof Product>;

export const ProductBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  kind: ProductKind,
  deviceType: z.string().min(1).max(64).nullable().default(null),
  priceMinor: z.number().int("expected whole minor units (cents)").min(0).max(1_000_000_000),
  currency,
  taxRateBp: z.number().int().min(0).max(10_000),
  active: z.boolean().default(true),
});
export type ProductBody = z.input<typeof ProductBody>;

export const StockLevel = z.object({
  sku: z.string(),
  location: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
});
export type StockLevel = z.infer<typeof StockLevel>;

export const StockBody = z.strictObject({ onHand: z.number().int().min(0).max(10_000_000) });

/** A relative stock change (a delivery, a count correction, breakage), with the reason for the audit log. */
export const StockAdjustBody = z.strictObject({
  delta: z
    .number()
    .int("expected a whole number of units")
    .min(-10_000_000)
    .max(10_000_000)
    .refine((d) => d !== 0, "expected a change other than 0"),
  reason: z.string().trim().min(1, "say why the stock changes").max(200),
});
export type StockAdjustBody = z.input<typeof StockAdjustBody>;

export const OrderStatus = z.enum([
  "placed",
  "reserved",
  "payment_pending",
  "authorized",
  "captured",
  "confirmed",
  "cancelled",
  "picked",
  "shipped",
  "delivered",
]);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const OrderLine = z.object({
  sku: z.string(),
  name: z.string(),
  kind: ProductKind,
  deviceType: z.string().nullable(),
  quantity: z.number().int(),
  unitPriceMinor: z.number().int(),
  taxRateBp: z.number().int(),
  lineTotalMinor: z.number().int(),
});
export type OrderLine = z.infer<typeof OrderLine>;

export const Order = z.object({
  id: z.string(),
  siteId: z.string(),
  placedBy: z.string(),
  status: OrderStatus,
  subtotalMinor: z.number().int(),
  taxMinor: z.number().int(),
  totalMinor: z.number().int(),
  currency: z.string(),
  lines: z.array(OrderLine),
  /** Why it was cancelled, or why it waits (payments unavailable). */
  reason: z.string().nullable(),
  placedAt: EpochMs,
  updatedAt: EpochMs,
  version: z.number().int(),
  /**
   * The carrier's shipping label, for a confirmed order with devices or consumables: none (nothing
   * to ship, or no carrier configured), requested, retrying (the carrier failed; asked again later),
   * labelled (with its tracking number) or failed (the carrier refused the request).
   */
  shipping: z.object({
    status: z.enum(["none", "requested", "retrying", "labelled", "failed"]),
    trackingNumber: z.string().nullable(),
  }),
});
export type Order = z.infer<typeof Order>;

/** One event of the order's stream as the timeline shows it: a saga step, a compensation, a retry. */
export const TimelineEntry = z.object({
  version: z.number().int(),
  type: z.string(),
  step: z.string(),
  status: z.string(),
  detail: z.string(),
  at: EpochMs,
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const PlaceOrderBody = z.strictObject({
  siteId: id,
  lines: z
    .array(z.strictObject({ sku, quantity: z.number().int("expected a whole quantity").min(1).max(1000) }))
    .min(1)
    .max(50),
});
export type PlaceOrderBody = z.input<typeof PlaceOrderBody>;

export const OrderQuery = z.object({
  siteId: id.optional(),
  status: OrderStatus.optional(),
  limit: intQuery(1, 1000).optional(),
});
export type OrderQuery = z.input<typeof OrderQuery>;

export const SalesDay = z.object({
  day: z.string(),
  currency: z.string(),
  sku: z.string(),
  quantity: z.number().int(),
  totalMinor: z.number().int(),
});
export type SalesDay = z.infer<typeof SalesDay>;

export const Shelf = z.object({
  deviceId: z.string(),
  siteId: z.string(),
  sku: z.string().nullable(),
  itemCount: z.number().int().nullable(),
  lowThreshold: z.number().int(),
  highThreshold: z.number().int(),
  /** Below its low threshold and not yet back above the high one. */
  low: z.boolean(),
  updatedAt: EpochMs,
});
export type Shelf = z.infer<typeof Shelf>;

export const ShelfBody = z
  .strictObject({
    siteId: id,
    sku,
    lowThreshold: z.number().int().min(0).max(100_000),
    highThreshold: z.number().int().min(1).max(100_000),
  })
  .refine((b) => b.highThreshold > b.lowThreshold, { message: "highThreshold must be above lowThreshold", path: ["highThreshold"] });
export type ShelfBody = z.input<typeof ShelfBody>;

export const ReplenishmentDraft = z.object({
  id: z.string(),
  siteId: z.string(),
  shelfDeviceId: z.string(),
  sku: z.string(),
  quantity: z.number().int(),
  status: z.string(),
  createdAt: EpochMs,
});
export type ReplenishmentDraft = z.infer<typeof ReplenishmentDraft>;

export const BreakerState = z.enum(["closed", "open", "half-open", "isolated"]);
export type BreakerState = z.infer<typeof BreakerState>;

export const PaymentsStatus = z.object({
  breaker: BreakerState,
  /** When the breaker last changed state. */
  since: EpochMs,
  calls: z.object({ ok: z.number().int(), failed: z.number().int(), rejected: z.number().int() }),
  /** Orders waiting for the provider to come back. */
  pendingOrders: z.number().int(),
});
export type PaymentsStatus = z.infer<typeof PaymentsStatus>;

const OrderResponse = z.object({ order: Order });

export const commerceRoutes = {
  products: route({
    method: "get",
    path: "/api/commerce/products",
    summary: "The catalog with prices and available stock (inactive products only with ?all=1)",
    query: z.object({ all: flagQuery.optional() }),
    status: 200,
    response: z.object({ products: z.array(Product) }),
  }),
  putProduct: route({
    method: "put",
    path: "/api/commerce/products/:sku",
    summary: "Create or replace a product (admin)",
    role: "admin",
    body: ProductBody,
    status: 200,
    response: z.object({ product: Product }),
  }),
  stock: route({
    method: "get",
    path: "/api/commerce/stock",
    summary: "Stock per SKU and location",
    status: 200,
    response: z.object({ stock: z.array(StockLevel) }),
  }),
  putStock: route({
    method: "put",
    path: "/api/commerce/stock/:sku/:location",
    summary: "Set the on-hand count of a SKU at a location (admin); refused below what is reserved",
    role: "admin",
    body: StockBody,
    status: 200,
    response: z.object({ stock: StockLevel }),
  }),
  adjustStock: route({
    method: "post",
    path: "/api/commerce/stock/:sku/:location/adjust",
    summary:
      "Add or remove units of a SKU at a known location (admin), with a reason for the audit log; " +
      "409 STOCK_WOULD_GO_NEGATIVE when fewer units than removed are on hand and not reserved; 404 for an unknown SKU or location",
    role: "admin",
    body: StockAdjustBody,
    status: 200,
    response: z.object({ stock: StockLevel }),
  }),
  placeOrder: route({
    method: "post",
    path: "/api/commerce/orders",
    summary:
      "Check out (operator). Send an Idempotency-Key header: a retry with the same key and body answers the same order. " +
      "201 with the order (confirmed, or payment_pending when payments are unavailable: 503 PAYMENTS_UNAVAILABLE then); 409 OUT_OF_STOCK",
    role: "operator",
    body: PlaceOrderBody,
    status: 201,
    response: OrderResponse,
  }),
  orders: route({
    method: "get",
    path: "/api/commerce/orders",
    summary: "Orders, newest first (read model; limit default 100)",
    query: OrderQuery,
    status: 200,
    response: z.object({ orders: z.array(Order) }),
  }),
  order: route({
    method: "get",
    path: "/api/commerce/orders/:id",
    summary: "One order with its saga timeline",
    status: 200,
    response: z.object({ order: Order, timeline: z.array(TimelineEntry) }),
  }),
  sales: route({
    method: "get",
    path: "/api/commerce/sales",
    summary: "Confirmed sales per day, currency and SKU (read model)",
    status: 200,
    response: z.object({ sales: z.array(SalesDay) }),
  }),
  rebuild: route({
    method: "post",
    path: "/api/commerce/projections/rebuild",
    summary: "Rebuild the order read models from the event store (admin)",
    role: "admin",
    status: 200,
    response: z.object({ streams: z.number().int(), events: z.number().int() }),
  }),
  shelves: route({
    method: "get",
    path: "/api/commerce/shelves",
    summary: "Smart shelves and their live item counts",
    status: 200,
    response: z.object({ shelves: z.array(Shelf) }),
  }),
  shelfStream: route({
    method: "get",
    path: "/api/commerce/shelves/stream",
    summary: "Shelf changes as Server-Sent Events (`event: shelf`, data = a Shelf)",
    status: 200,
    response: z.string(),
    contentType: "text/event-stream",
  }),
  putShelf: route({
    method: "put",
    path: "/api/commerce/shelves/:deviceId",
    summary: "Bind a smart shelf to a shelf-item SKU with its low/high thresholds (admin)",
    role: "admin",
    body: ShelfBody,
    status: 200,
    response: z.object({ shelf: Shelf }),
  }),
  drafts: route({
    method: "get",
    path: "/api/commerce/drafts",
    summary: "Replenishment order drafts created by low shelf stock",
    status: 200,
    response: z.object({ drafts: z.array(ReplenishmentDraft) }),
  }),
  payments: route({
    method: "get",
    path: "/api/commerce/payments",
    summary: "The payment provider's circuit breaker and call counts",
    status: 200,
    response: PaymentsStatus,
  }),
};
