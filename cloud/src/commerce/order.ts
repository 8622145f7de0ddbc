/**
 * The order aggregate: the events of one order's stream and their fold. The stream is also the
 * checkout saga's persisted state: after a crash the saga reloads the stream and carries on from
 * the step the fold says is next (checkout-saga.ts).
 */
import type { OrderLine, OrderStatus } from "@bitvelocity/api";

export type OrderEvent =
  | {
      type: "OrderPlaced";
      orderId: string;
      siteId: string;
      placedBy: string;
      lines: OrderLine[];
      subtotalMinor: number;
      taxMinor: number;
      totalMinor: number;
      currency: string;
    }
  | { type: "StockReserved"; location: string; reservations: { id: string; sku: string; quantity: number }[] }
  /** A payment call could not be made (provider down, breaker open): the saga retries later. */
  | { type: "PaymentDeferred"; step: "authorize" | "capture" | "void" | "refund"; reason: string; attempt: number }
  | { type: "PaymentAuthorized"; authorizationId: string }
  | { type: "DevicesRequested"; devices: { deviceType: string; quantity: number }[] }
  | { type: "DevicesProvisioned"; devices: { deviceId: string; deviceType: string; claimCode: string }[] }
  | { type: "StockCommitted" }
  | { type: "PaymentCaptured" }
  | { type: "OrderConfirmed" }
  | { type: "CheckoutFailed"; step: string; reason: string }
  | { type: "Compensated"; step: "devices" | "payment" | "stock"; detail: string }
  | { type: "OrderCancelled"; reason: string }
  /** Shipment updates from the warehouse (shipments.ts): each once, in this order, after OrderConfirmed. */
  | { type: "OrderPicked"; messageId: string; detail: string; reportedAt: number }
  | { type: "OrderShipped"; messageId: string; detail: string; reportedAt: number }
  | { type: "OrderDelivered"; messageId: string; detail: string; reportedAt: number }
  /** A confirmed order with physical goods asked the carrier for a label (label-requester.ts). */
  | { type: "LabelRequested"; parcels: number; siteId: string }
  | { type: "Labelled"; trackingNumber: string; service: string; label: string }
  /** The carrier call failed: `retrying` when it is tried again later, else a human has to act. */
  | { type: "LabelFailed"; reason: string; attempt: number; retrying: boolean };

/** none: nothing to ship (or no carrier); requested: asked; retrying: failed, asked again later; failed: refused. */
export type LabelStatus = "none" | "requested" | "retrying" | "labelled" | "failed";

export interface OrderState {
  readonly id: string;
  readonly version: number;
  readonly placed: Extract<OrderEvent, { type: "OrderPlaced" }> | undefined;
  readonly status: OrderStatus;
  readonly reserved: boolean;
  readonly stockCommitted: boolean;
  readonly authorizationId: string | null;
  readonly devicesRequested: boolean;
  readonly devicesProvisioned: number;
  readonly captured: boolean;
  /** Set once a step failed for good: the saga compensates, then cancels. */
  readonly failure: string | null;
  readonly compensated: ReadonlySet<string>;
  readonly deferrals: number;
  readonly reason: string | null;
  readonly terminal: boolean;
  readonly label: { readonly status: LabelStatus; readonly trackingNumber: string | null; readonly attempts: number };
  readonly placedAt: number;
  readonly updatedAt: number;
}

export function emptyOrder(id: string): OrderState {
  return {
    id,
    version: 0,
    placed: undefined,
    status: "placed",
    reserved: false,
    stockCommitted: false,
    authorizationId: null,
    devicesRequested: false,
    devicesProvisioned: 0,
    captured: false,
    failure: null,
    compensated: new Set(),
    deferrals: 0,
    reason: null,
    terminal: false,
    label: { status: "none", trackingNumber: null, attempts: 0 },
    placedAt: 0,
    updatedAt: 0,
  };
}

/** One event applied to the state (pure). */
export function applyEvent(s: OrderState, e: OrderEvent, version: number, at: number): OrderState {
  const next = { ...s, version, updatedAt: at };
  switch (e.type) {
    case "OrderPlaced":
      return { ...next, placed: e, status: "placed", placedAt: at };
    case "StockReserved":
      return { ...next, reserved: true, status: "reserved" };
    case "PaymentDeferred":
      return { ...next, status: e.step === "authorize" ? "payment_pending" : s.status, deferrals: s.deferrals + 1, reason: e.reason };
    case "PaymentAuthorized":
      return { ...next, authorizationId: e.authorizationId, status: "authorized", reason: null };
    case "DevicesRequested":
      return { ...next, devicesRequested: true };
    case "DevicesProvisioned":
      return { ...next, devicesProvisioned: e.devices.length };
    case "StockCommitted":
      return { ...next, stockCommitted: true };
    case "PaymentCaptured":
      return { ...next, captured: true, status: "captured" };
    case "OrderConfirmed":
      return { ...next, status: "confirmed", terminal: true };
    case "CheckoutFailed":
      return { ...next, failure: e.reason, reason: e.reason };
    case "Compensated":
      return { ...next, compensated: new Set([...s.compensated, e.step]) };
    case "OrderCancelled":
      return { ...next, status: "cancelled", terminal: true, reason: e.reason };
    case "OrderPicked":
      return { ...next, status: "picked" };
    case "OrderShipped":
      return { ...next, status: "shipped" };
    case "OrderDelivered":
      return { ...next, status: "delivered" };
    case "LabelRequested":
      return { ...next, label: { ...s.label, status: "requested" } };
    case "Labelled":
      return { ...next, label: { status: "labelled", trackingNumber: e.trackingNumber, attempts: s.label.attempts + 1 } };
    case "LabelFailed":
      return { ...next, label: { status: e.retrying ? "retrying" : "failed", trackingNumber: null, attempts: e.attempt } };
  }
}

export function fold(id: string, events: readonly { version: number; data: OrderEvent; at: number }[]): OrderState {
  return events.reduce((s, e) => applyEvent(s, e.data, e.version, e.at), emptyOrder(id));
}

/** How an event reads on the order's timeline. */
export function timelineOf(e: OrderEvent): { step: string; status: string; detail: string } {
  switch (e.type) {
    case "OrderPlaced":
      return { step: "place", status: "succeeded", detail: `${e.lines.length} line(s), ${e.totalMinor} ${e.currency} minor units` };
    case "StockReserved":
      return {
        step: "reserve",
        status: "succeeded",
        detail: `${e.reservations.map((r) => `${r.quantity} × ${r.sku}`).join(", ")} at ${e.location}`,
      };
    case "PaymentDeferred":
      return { step: e.step, status: "retrying", detail: `attempt ${e.attempt}: ${e.reason}` };
    case "PaymentAuthorized":
      return { step: "authorize", status: "succeeded", detail: e.authorizationId };
    case "DevicesRequested":
      return { step: "provision", status: "started", detail: e.devices.map((d) => `${d.quantity} × ${d.deviceType}`).join(", ") };
    case "DevicesProvisioned":
      return { step: "provision", status: "succeeded", detail: `${e.devices.length} device identities awaiting first connection` };
    case "StockCommitted":
      return { step: "commit-stock", status: "succeeded", detail: "reserved units taken from stock" };
    case "PaymentCaptured":
      return { step: "capture", status: "succeeded", detail: "payment captured" };
    case "OrderConfirmed":
      return { step: "confirm", status: "succeeded", detail: "order confirmed" };
    case "CheckoutFailed":
      return { step: e.step, status: "failed", detail: e.reason };
    case "Compensated":
      return { step: `undo-${e.step}`, status: "compensated", detail: e.detail };
    case "OrderCancelled":
      return { step: "cancel", status: "succeeded", detail: e.reason };
    case "OrderPicked":
      return { step: "pick", status: "succeeded", detail: e.detail };
    case "OrderShipped":
      return { step: "ship", status: "succeeded", detail: e.detail };
    case "OrderDelivered":
      return { step: "deliver", status: "succeeded", detail: e.detail };
    case "LabelRequested":
      return { step: "label", status: "started", detail: `${e.parcels} parcel(s) to ${e.siteId}` };
    case "Labelled":
      return { step: "label", status: "succeeded", detail: `tracking number ${e.trackingNumber} (${e.service})` };
    case "LabelFailed":
      return { step: "label", status: e.retrying ? "retrying" : "failed", detail: `attempt ${e.attempt}: ${e.reason}` };
  }
}
