/** The commerce part of the REST client (/api/commerce/…), typed by the contract. */
import type {
  Order,
  PaymentsStatus,
  PlaceOrderBody,
  Product,
  ProductBody,
  ReplenishmentDraft,
  SalesDay,
  Shelf,
  StockAdjustBody,
  StockLevel,
  TimelineEntry,
} from "@bitvelocity/api";
import { query, request } from "./api.js";

const enc = encodeURIComponent;

export const commerceApi = {
  products: (all = false) => request<{ products: Product[] }>("GET", `/api/commerce/products${all ? "?all=1" : ""}`),
  putProduct: (sku: string, body: ProductBody) => request<{ product: Product }>("PUT", `/api/commerce/products/${enc(sku)}`, body),
  stock: () => request<{ stock: StockLevel[] }>("GET", "/api/commerce/stock"),
  setStock: (sku: string, location: string, onHand: number) =>
    request<{ stock: StockLevel }>("PUT", `/api/commerce/stock/${enc(sku)}/${enc(location)}`, { onHand }),
  adjustStock: (sku: string, location: string, body: StockAdjustBody) =>
    request<{ stock: StockLevel }>("POST", `/api/commerce/stock/${enc(sku)}/${enc(location)}/adjust`, body),
  /** The key makes a retried click answer the same order instead of placing a second one. */
  placeOrder: (body: PlaceOrderBody, idempotencyKey: string) =>
    request<{ order: Order }>("POST", "/api/commerce/orders", body, { "idempotency-key": idempotencyKey }),
  orders: (q: { siteId?: string; status?: string; limit?: number } = {}) =>
    request<{ orders: Order[] }>("GET", `/api/commerce/orders${query(q)}`),
  order: (id: string) => request<{ order: Order; timeline: TimelineEntry[] }>("GET", `/api/commerce/orders/${enc(id)}`),
  sales: () => request<{ sales: SalesDay[] }>("GET", "/api/commerce/sales"),
  shelves: () => request<{ shelves: Shelf[] }>("GET", "/api/commerce/shelves"),
  drafts: () => request<{ drafts: ReplenishmentDraft[] }>("GET", "/api/commerce/drafts"),
  payments: () => request<PaymentsStatus>("GET", "/api/commerce/payments"),
};

/** Money for display only: integer minor units formatted in their currency (never computed with). */
export function money(minor: number, currency: string): string {
  const fmt = new Intl.NumberFormat(undefined, { style: "currency", currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
  return fmt.format(minor / 10 ** digits);
}

/** How many decimals the currency's minor unit has (EUR 2, JPY 0), for parsing typed amounts. */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

export const ORDER_TONE: Record<Order["status"], "ok" | "bad" | "warn" | "info" | "muted"> = {
  placed: "info",
  reserved: "info",
  payment_pending: "warn",
  authorized: "info",
  captured: "info",
  confirmed: "ok",
  cancelled: "bad",
  picked: "ok",
  shipped: "ok",
  delivered: "ok",
};
