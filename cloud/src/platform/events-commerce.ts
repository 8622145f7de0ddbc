/**
 * The commerce domain's public events (the catalogue in docs/event-contracts/). Other domains
 * (fleet, chat) listen to these; commerce listens to `devicesProvisioned` from fleet.
 * Money is in integer minor units (cents) with an ISO 4217 currency; times are ms since the epoch.
 */

export interface OrderLineView {
  readonly sku: string;
  readonly kind: "device" | "consumable" | "shelf-item";
  /** For kind "device": the catalog device type it provisions. */
  readonly deviceType: string | null;
  readonly quantity: number;
  readonly unitPriceMinor: number;
}

export interface OrderPlaced {
  readonly orderId: string;
  readonly siteId: string;
  readonly placedBy: string;
  readonly lines: readonly OrderLineView[];
  readonly totalMinor: number;
  readonly currency: string;
  readonly at: number;
}

/** One step of the checkout saga moved (reserve, authorize, provision, capture, confirm, or a compensation). */
export interface OrderProgressed {
  readonly orderId: string;
  readonly siteId: string;
  readonly step: string;
  readonly status: "started" | "succeeded" | "failed" | "retrying" | "compensated";
  readonly detail: string;
  readonly at: number;
}

export interface OrderConfirmed {
  readonly orderId: string;
  readonly siteId: string;
  readonly totalMinor: number;
  readonly currency: string;
  readonly at: number;
}

export interface OrderCancelled {
  readonly orderId: string;
  readonly siteId: string;
  readonly reason: string;
  readonly at: number;
}

/** Commerce asks fleet to create device identities with claim codes for a paid-for device line. */
export interface DevicesPurchased {
  readonly orderId: string;
  readonly siteId: string;
  readonly devices: readonly { readonly deviceType: string; readonly quantity: number }[];
}

/** Fleet created the identities (status "awaiting first connection"). Idempotent per orderId. */
export interface DevicesProvisioned {
  readonly orderId: string;
  readonly siteId: string;
  readonly devices: readonly { readonly deviceId: string; readonly deviceType: string; readonly claimCode: string }[];
}

/** Compensation: fleet removes the identities it provisioned for this order (unclaimed ones). */
export interface ProvisionedDevicesRevoked {
  readonly orderId: string;
  readonly siteId: string;
}

/** A smart shelf's stock crossed its low threshold (once per crossing, with hysteresis). */
export interface LowStockDetected {
  readonly siteId: string;
  readonly shelfDeviceId: string;
  readonly sku: string;
  readonly count: number;
  readonly threshold: number;
  /** The replenishment order draft created for it. */
  readonly draftOrderId: string;
  readonly at: number;
}

export interface CommerceEvents {
  orderPlaced: OrderPlaced;
  orderProgressed: OrderProgressed;
  orderConfirmed: OrderConfirmed;
  orderCancelled: OrderCancelled;
  devicesPurchased: DevicesPurchased;
  devicesProvisioned: DevicesProvisioned;
  provisionedDevicesRevoked: ProvisionedDevicesRevoked;
  lowStockDetected: LowStockDetected;
}
