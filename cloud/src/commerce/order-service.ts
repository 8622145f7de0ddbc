/**
 * Placing an order: the request names SKUs and quantities only; prices, tax and totals come from
 * the catalog (a request cannot set a price). An Idempotency-Key makes a retried request answer
 * the order the first one made: the key (per user) and a hash of the body are stored in the same
 * transaction as the order's first event, so a key exists if and only if its order does; the
 * same key with another body is refused.
 */
import { createHash, randomUUID } from "node:crypto";
import type { OrderLine, PlaceOrderBody } from "@bitvelocity/api";
import { BvError } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import { type Problem, ValidationError } from "../platform/errors.js";
import type { Catalog } from "./catalog.js";
import { isUniqueViolation } from "./event-store.js";
import { emptyOrder, type OrderState } from "./order.js";
import type { OrderWriter } from "./order-writer.js";
import type { CommerceTables } from "./tables.js";

export class IdempotencyConflict extends BvError {
  constructor() {
    super("IDEMPOTENCY_KEY_REUSED", "protocol", "this Idempotency-Key was used for a different order request");
  }
}

/** Tax of a line in minor units, rounded half up: integer arithmetic only. */
export function taxOf(amountMinor: number, rateBp: number): number {
  return Math.floor((amountMinor * rateBp + 5_000) / 10_000);
}

export interface PlaceResult {
  readonly orderId: string;
  /** True when the key was seen before: the order is the first request's. */
  readonly replay: boolean;
}

export class OrderService {
  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly catalog: Catalog,
    private readonly writer: OrderWriter,
    private readonly sites: ReadonlySet<string>,
    private readonly leaseMs: number,
  ) {}

  /** Prices the request from the catalog; throws VALIDATION_FAILED listing every problem. */
  async price(
    body: PlaceOrderBody,
  ): Promise<{ lines: OrderLine[]; subtotalMinor: number; taxMinor: number; totalMinor: number; currency: string }> {
    const problems: Problem[] = [];
    if (!this.sites.has(body.siteId)) problems.push({ path: "siteId", message: `unknown site ${body.siteId}` });
    const products = await this.catalog.rowsBySku(body.lines.map((l) => l.sku));
    const seen = new Set<string>();
    const lines: OrderLine[] = [];
    body.lines.forEach((l, i) => {
      const p = products.get(l.sku);
      if (seen.has(l.sku))
        problems.push({ path: `lines.${i}.sku`, message: `${l.sku} is already on line ${body.lines.findIndex((x) => x.sku === l.sku)}` });
      seen.add(l.sku);
      if (!p) {
        problems.push({ path: `lines.${i}.sku`, message: `unknown SKU ${l.sku}` });
        return;
      }
      if (p.active !== 1) {
        problems.push({ path: `lines.${i}.sku`, message: `${l.sku} is not for sale` });
        return;
      }
      const lineTotalMinor = Number(p.price_minor) * l.quantity;
      lines.push({
        sku: p.sku,
        name: p.name,
        kind: p.kind as OrderLine["kind"],
        deviceType: p.device_type,
        quantity: l.quantity,
        unitPriceMinor: Number(p.price_minor),
        taxRateBp: p.tax_rate_bp,
        lineTotalMinor,
      });
    });
    const currencies = new Set(lines.map((l) => products.get(l.sku)!.currency));
    if (currencies.size > 1)
      problems.push({ path: "lines", message: `one currency per order; these lines are in ${[...currencies].join(", ")}` });
    if (problems.length > 0) throw new ValidationError("invalid order", problems);
    const subtotalMinor = lines.reduce((a, l) => a + l.lineTotalMinor, 0);
    const taxMinor = lines.reduce((a, l) => a + taxOf(l.lineTotalMinor, l.taxRateBp), 0);
    return { lines, subtotalMinor, taxMinor, totalMinor: subtotalMinor + taxMinor, currency: [...currencies][0] ?? "EUR" };
  }

  /** Records the order (OrderPlaced) or, for a key seen before, answers the first order's id. */
  async place(username: string, idempotencyKey: string | undefined, body: PlaceOrderBody): Promise<PlaceResult> {
    const priced = await this.price(body);
    const key = idempotencyKey === undefined ? undefined : `${username}:${idempotencyKey}`;
    const hash = createHash("sha256")
      .update(JSON.stringify({ siteId: body.siteId, lines: body.lines.map((l) => [l.sku, l.quantity]) }))
      .digest("hex");
    if (key) {
      const earlier = await this.earlier(key, hash);
      if (earlier) return { orderId: earlier, replay: true };
    }
    const orderId = `ord_${randomUUID()}`;
    const state: OrderState = emptyOrder(orderId);
    const now = Date.now();
    try {
      await this.writer.write(
        state,
        async (tx) => {
          if (key)
            await tx.insertInto("commerce_idempotency").values({ key, request_hash: hash, order_id: orderId, created_at: now }).execute();
          return [{ type: "OrderPlaced", orderId, siteId: body.siteId, placedBy: username, ...priced }];
        },
        () => ({ status: "active", nextRunAt: now + this.leaseMs }),
        now,
      );
    } catch (err) {
      // The same key raced in from a concurrent request: answer its order.
      if (key && isUniqueViolation(err)) {
        const earlier = await this.earlier(key, hash);
        if (earlier) return { orderId: earlier, replay: true };
      }
      throw err;
    }
    return { orderId, replay: false };
  }

  private async earlier(key: string, hash: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("commerce_idempotency").selectAll().where("key", "=", key).executeTakeFirst();
    if (!row) return undefined;
    if (row.request_hash !== hash) throw new IdempotencyConflict();
    return row.order_id;
  }
}
