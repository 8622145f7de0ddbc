/**
 * The Shipping port: what commerce needs from a carrier, declared here and filled by main.ts
 * (the SOAP adapter in integration/soap/ when `commerce.carrier_url` is set). Commerce never
 * imports the adapter; the adapter never imports commerce (it matches this shape).
 *
 * Errors the port may throw, told apart by their BvError kind (@bitvelocity/common):
 * - kind "transient" (carrier down, timeout, soap:Server fault, breaker open): try again later;
 * - any other BvError (soap:Client fault: the request is wrong): retrying the same request will not help.
 */
import type { OrderLine } from "@bitvelocity/api";

export interface ShipmentRequest {
  readonly orderId: string;
  readonly shipTo: { readonly siteId: string; readonly name: string };
  readonly parcels: readonly { readonly reference: string; readonly quantity: number; readonly weightGrams: number }[];
}

export interface ShipmentLabel {
  readonly trackingNumber: string;
  readonly service: string;
  /** The label to print (ZPL text). */
  readonly label: string;
}

export interface Shipping {
  /** Idempotent by order id at the carrier: the same order answers the same tracking number. */
  createShipment(request: ShipmentRequest): Promise<ShipmentLabel>;
}

/** Physical goods go by carrier: devices and consumables (not shelf items, stocked on site). */
export const SHIPPED_KINDS: ReadonlySet<OrderLine["kind"]> = new Set(["device", "consumable"]);

/** Grams per unit the parcels are declared with (the catalog has no weights yet). */
const UNIT_GRAMS: Partial<Record<OrderLine["kind"], number>> = { device: 400, consumable: 150 };

export function needsLabel(lines: readonly OrderLine[]): boolean {
  return lines.some((l) => SHIPPED_KINDS.has(l.kind));
}

/** One parcel per shipped line. */
export function parcelsOf(lines: readonly OrderLine[]): ShipmentRequest["parcels"] {
  return lines
    .filter((l) => SHIPPED_KINDS.has(l.kind))
    .map((l) => ({ reference: l.sku, quantity: l.quantity, weightGrams: UNIT_GRAMS[l.kind] ?? 100 }));
}
