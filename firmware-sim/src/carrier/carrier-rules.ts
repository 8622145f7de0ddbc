/**
 * The carrier's rules, without I/O: what a valid CreateShipment / QuoteRate request is (every
 * problem listed, for the Client fault), and the rate card. The soap package hands the request
 * as parsed XML: numbers per the WSDL's xsd:int, one `parcel` as an object or several as an array.
 */

export interface ShipTo {
  readonly siteId: string;
  readonly name: string;
  readonly country?: string;
}

export interface Parcel {
  readonly reference: string;
  readonly quantity: number;
  readonly weightGrams: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const MAX_PARCELS = 100;
const MAX_GRAMS = 70_000;

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function text(v: unknown, path: string, problems: string[], max = 128): string {
  if (typeof v !== "string" || v.trim() === "" || v.length > max) {
    problems.push(`${path}: expected a non-empty string of at most ${max} characters`);
    return "";
  }
  return v;
}

function int(v: unknown, path: string, min: number, max: number, problems: string[]): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${path}: expected an integer in ${min}..${max}`);
    return 0;
  }
  return n;
}

function shipToOf(v: unknown, problems: string[]): ShipTo {
  const o = record(v);
  if (!o) {
    problems.push("shipTo: required");
    return { siteId: "", name: "" };
  }
  const siteId = text(o.siteId, "shipTo.siteId", problems, 64);
  const name = text(o.name, "shipTo.name", problems);
  if (o.country !== undefined && (typeof o.country !== "string" || !/^[A-Z]{2}$/.test(o.country)))
    problems.push("shipTo.country: expected an ISO 3166 alpha-2 code");
  return typeof o.country === "string" ? { siteId, name, country: o.country } : { siteId, name };
}

function parcelsOf(v: unknown, problems: string[]): Parcel[] {
  const raw = record(v)?.parcel;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) problems.push("parcels: at least one parcel");
  if (list.length > MAX_PARCELS) problems.push(`parcels: at most ${MAX_PARCELS}`);
  return list.slice(0, MAX_PARCELS).map((p, i) => {
    const o = record(p) ?? {};
    return {
      reference: text(o.reference, `parcels.${i}.reference`, problems, 64),
      quantity: int(o.quantity, `parcels.${i}.quantity`, 1, 10_000, problems),
      weightGrams: int(o.weightGrams, `parcels.${i}.weightGrams`, 1, MAX_GRAMS, problems),
    };
  });
}

export function parseShipment(args: unknown): Parsed<{ orderId: string; shipTo: ShipTo; parcels: Parcel[] }> {
  const problems: string[] = [];
  const o = record(args) ?? {};
  const orderId = text(o.orderId, "orderId", problems, 64);
  const shipTo = shipToOf(o.shipTo, problems);
  const parcels = parcelsOf(o.parcels, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { orderId, shipTo, parcels } };
}

export function parseQuote(args: unknown): Parsed<{ shipTo: ShipTo; parcels: Parcel[] }> {
  const problems: string[] = [];
  const o = record(args) ?? {};
  const shipTo = shipToOf(o.shipTo, problems);
  const parcels = parcelsOf(o.parcels, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { shipTo, parcels } };
}

/** The rate card: 4.90 EUR per shipment plus 1.50 EUR per started 500 g; over 10 kg goes FREIGHT. */
export function quote(parcels: readonly Parcel[]): { amountMinor: number; currency: string; service: string; transitDays: number } {
  const grams = parcels.reduce((a, p) => a + p.weightGrams * p.quantity, 0);
  const freight = grams > 10_000;
  return {
    amountMinor: 490 + Math.ceil(grams / 500) * 150,
    currency: "EUR",
    service: freight ? "FREIGHT" : "STANDARD",
    transitDays: freight ? 4 : 2,
  };
}
