/**
 * The catalog: what the shop sells. Device products are seeded from the device catalog
 * (@bitvelocity/devices), one per device type, with list prices from SEED_PRICES; a few consumables
 * and shelf items complete it. Seeding only adds what is missing: an admin's edits are kept.
 */
import type { Product, ProductBody } from "@bitvelocity/api";
import { catalog as deviceCatalog } from "@bitvelocity/devices";
import type { Kysely } from "kysely";
import { NotFoundError, ValidationError } from "../platform/errors.js";
import type { CommerceTables } from "./tables.js";

type ProductRow = CommerceTables["commerce_products"];

/** List prices in minor units by category of device; 20 % tax unless said otherwise. */
const SEED_PRICES: Record<string, number> = {
  sensor: 4_900,
  meter: 18_900,
  plc: 129_000,
  retail: 34_900,
  tracker: 8_900,
  actuator: 22_500,
};

export const EXTRA_PRODUCTS: readonly Omit<ProductRow, "updated_at">[] = [
  {
    sku: "CONS-BATT-AA4",
    name: "AA lithium batteries (4)",
    kind: "consumable",
    device_type: null,
    price_minor: 1_290,
    currency: "EUR",
    tax_rate_bp: 2000,
    active: 1,
  },
  {
    sku: "CONS-FILTER",
    name: "Sensor dust filter",
    kind: "consumable",
    device_type: null,
    price_minor: 450,
    currency: "EUR",
    tax_rate_bp: 2000,
    active: 1,
  },
  {
    sku: "SHELF-WATER-6",
    name: "Still water, 6 × 1.5 l",
    kind: "shelf-item",
    device_type: null,
    price_minor: 399,
    currency: "EUR",
    tax_rate_bp: 550,
    active: 1,
  },
  {
    sku: "SHELF-COFFEE-1KG",
    name: "Coffee beans, 1 kg",
    kind: "shelf-item",
    device_type: null,
    price_minor: 1_899,
    currency: "EUR",
    tax_rate_bp: 550,
    active: 1,
  },
];

export function deviceSku(deviceType: string): string {
  return `DEV-${deviceType.toUpperCase()}`;
}

export function seedProducts(): Omit<ProductRow, "updated_at">[] {
  const devices = [...deviceCatalog.values()].map((t) => ({
    sku: deviceSku(t.type),
    name: t.name,
    kind: "device",
    device_type: t.type,
    price_minor: SEED_PRICES[t.category] ?? 9_900,
    currency: "EUR",
    tax_rate_bp: 2000,
    active: 1,
  }));
  return [...devices, ...EXTRA_PRODUCTS];
}

export function productOf(row: ProductRow, available: number): Product {
  return {
    sku: row.sku,
    name: row.name,
    kind: row.kind as Product["kind"],
    deviceType: row.device_type,
    priceMinor: Number(row.price_minor),
    currency: row.currency,
    taxRateBp: row.tax_rate_bp,
    active: row.active === 1,
    available,
    updatedAt: Number(row.updated_at),
  };
}

export class Catalog {
  constructor(private readonly db: Kysely<CommerceTables>) {}

  /** Adds the seed products that are missing; returns the SKUs added. */
  async seed(now = Date.now()): Promise<string[]> {
    const existing = new Set((await this.db.selectFrom("commerce_products").select("sku").execute()).map((r) => r.sku));
    const missing = seedProducts().filter((p) => !existing.has(p.sku));
    if (missing.length > 0) {
      await this.db
        .insertInto("commerce_products")
        .values(missing.map((p) => ({ ...p, updated_at: now })))
        .onConflict((oc) => oc.column("sku").doNothing())
        .execute();
    }
    return missing.map((p) => p.sku);
  }

  async rows(includeInactive: boolean): Promise<ProductRow[]> {
    let q = this.db.selectFrom("commerce_products").selectAll().orderBy("kind").orderBy("sku");
    if (!includeInactive) q = q.where("active", "=", 1);
    return q.execute();
  }

  async rowsBySku(skus: readonly string[]): Promise<Map<string, ProductRow>> {
    if (skus.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("commerce_products")
      .selectAll()
      .where("sku", "in", [...skus])
      .execute();
    return new Map(rows.map((r) => [r.sku, r]));
  }

  async row(sku: string): Promise<ProductRow> {
    const row = await this.db.selectFrom("commerce_products").selectAll().where("sku", "=", sku).executeTakeFirst();
    if (!row) throw new NotFoundError("product", sku);
    return row;
  }

  async put(sku: string, body: ProductBody & { deviceType: string | null; active: boolean }, now = Date.now()): Promise<ProductRow> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(sku))
      throw new ValidationError("invalid SKU", [{ path: "sku", message: "expected 1-64 letters, digits, '.', '_' or '-'" }]);
    if (body.kind === "device" && (body.deviceType === null || !deviceCatalog.has(body.deviceType))) {
      throw new ValidationError("invalid product", [
        { path: "deviceType", message: `a device product needs a catalog device type (${[...deviceCatalog.keys()].join(", ")})` },
      ]);
    }
    if (body.kind !== "device" && body.deviceType !== null) {
      throw new ValidationError("invalid product", [{ path: "deviceType", message: "only device products have a device type" }]);
    }
    const row: ProductRow = {
      sku,
      name: body.name,
      kind: body.kind,
      device_type: body.deviceType,
      price_minor: body.priceMinor,
      currency: body.currency,
      tax_rate_bp: body.taxRateBp,
      active: body.active ? 1 : 0,
      updated_at: now,
    };
    await this.db
      .insertInto("commerce_products")
      .values(row)
      .onConflict((oc) => oc.column("sku").doUpdateSet({ ...row }))
      .execute();
    return row;
  }
}
