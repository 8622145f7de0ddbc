/**
 * Checkout end to end on a real cloud and a real payment simulator, on SQLite and PostgreSQL:
 * no oversell under 200 concurrent buyers for 50 units, the ledger agrees with the orders,
 * idempotent retries, bad input refused with a clear 4xx, and read models rebuilt = live.
 */
import type { Order, Product, StockLevel } from "@bitvelocity/api";
import { postgres } from "@bitvelocity/common/test-services";
import type { LedgerEntry } from "@bitvelocity/firmware-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommerceRig, json, type OrderDetail, startCommerceRig, waitFor } from "./test-support.js";

const SENSOR = "DEV-ENV-SENSOR";
const pgService = await postgres();

for (const engine of ["sqlite", "postgres"] as const) {
  const skip = engine === "postgres" && !pgService.available;
  describe.skipIf(skip)(`checkout on ${engine}${skip ? " (skipped: PostgreSQL not available)" : ""}`, () => {
    let rig: CommerceRig;
    beforeAll(async () => {
      rig = await startCommerceRig(engine === "postgres" && pgService.available ? { pgUrl: pgService.url } : {});
    });
    afterAll(async () => {
      await rig?.close();
    });

    it("200 concurrent checkouts for the last 50 units: exactly 50 confirmed, the rest refused, stock 0", async () => {
      await rig.setStock(SENSOR, 50);
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1 }] }, `buyer-${i}`),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(50);
      expect(statuses.filter((s) => s === 409)).toHaveLength(150);
      const refused = await Promise.all(
        answers.filter((r) => r.status === 409).map((r) => json<{ error: { code: string; message: string } }>(r)),
      );
      for (const body of refused) {
        expect(body.error.code).toBe("OUT_OF_STOCK");
        expect(body.error.message).toMatch(/out of stock/);
      }
      const { stock } = await json<{ stock: StockLevel[] }>(await rig.t.api("/api/commerce/stock", rig.victor));
      expect(stock.find((s) => s.sku === SENSOR)).toMatchObject({ onHand: 0, reserved: 0, available: 0 });

      // The provider's ledger and the orders agree: one authorization and one capture per confirmed order.
      const { orders } = await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor));
      const confirmed = orders.filter((o) => o.status === "confirmed");
      expect(confirmed).toHaveLength(50);
      expect(orders.filter((o) => o.status === "cancelled")).toHaveLength(150);
      const ledger: readonly LedgerEntry[] = rig.sim.entries();
      const captures = ledger.filter((e) => e.kind === "capture");
      expect(captures.map((e) => e.orderId).sort()).toEqual(confirmed.map((o) => o.id).sort());
      expect(ledger.filter((e) => e.kind === "authorize")).toHaveLength(50);
      // Out-of-stock orders never reached the provider.
      const cancelledIds = new Set(orders.filter((o) => o.status === "cancelled").map((o) => o.id));
      expect(ledger.some((e) => cancelledIds.has(e.orderId))).toBe(false);
    });

    it("prices come from the catalog: totals with tax in integer minor units; the timeline shows each saga step", async () => {
      const { products } = await json<{ products: Product[] }>(await rig.t.api("/api/commerce/products", rig.victor));
      const filter = products.find((p) => p.sku === "CONS-FILTER")!;
      const res = await rig.order(rig.alice, { siteId: "site-2", lines: [{ sku: "CONS-FILTER", quantity: 3 }] }, "priced-1");
      expect(res.status).toBe(201);
      const { order } = await json<{ order: Order }>(res);
      const subtotal = filter.priceMinor * 3;
      expect(order).toMatchObject({ status: "confirmed", subtotalMinor: subtotal, currency: filter.currency });
      expect(order.taxMinor).toBe(Math.floor((subtotal * filter.taxRateBp + 5000) / 10000));
      expect(order.totalMinor).toBe(order.subtotalMinor + order.taxMinor);
      const detail = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${order.id}`, rig.victor));
      expect(detail.timeline.map((e) => e.type)).toEqual([
        "OrderPlaced",
        "StockReserved",
        "PaymentAuthorized",
        "StockCommitted",
        "PaymentCaptured",
        "OrderConfirmed",
      ]);
      const auth = rig.sim.entries().find((e) => e.kind === "authorize" && e.orderId === order.id);
      expect(auth?.amountMinor).toBe(order.totalMinor);
    });

    it("a device line asks fleet for the devices (devicesPurchased) and shows the provision step", async () => {
      await rig.setStock(SENSOR, 10);
      const res = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SENSOR, quantity: 3 }] }, "devices-1");
      expect(res.status).toBe(201);
      const { order } = await json<{ order: Order }>(res);
      const detail = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${order.id}`, rig.victor));
      expect(detail.timeline.find((e) => e.type === "DevicesRequested")).toMatchObject({ step: "provision", status: "started" });
      // Fleet answers on the bus: 3 identities on the buyer's site, awaiting their first connection.
      await waitFor(
        async () => {
          const d = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${order.id}`, rig.victor));
          return d.timeline.some((e) => e.type === "DevicesProvisioned") ? true : undefined;
        },
        5000,
        "DevicesProvisioned on the timeline",
      );
      const { devices } = await json<{ devices: { orderId: string; siteId: string; type: string; claimed: boolean }[] }>(
        await rig.t.api("/api/provisioned-devices?siteId=site-1", rig.victor),
      );
      const mine = devices.filter((d) => d.orderId === order.id);
      expect(mine).toHaveLength(3);
      expect(mine.every((d) => d.type === "env-sensor" && !d.claimed)).toBe(true);
    });

    it("a retried request with the same Idempotency-Key answers the same order and charges once", async () => {
      const body = { siteId: "site-1", lines: [{ sku: "CONS-BATT-AA4", quantity: 2 }] };
      const [a, b] = await Promise.all([rig.order(rig.alice, body, "retry-me"), rig.order(rig.alice, body, "retry-me")]);
      const c = await rig.order(rig.alice, body, "retry-me");
      const ids = await Promise.all([a, b, c].map(async (r) => (await json<{ order: Order }>(r)).order.id));
      expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
      expect(new Set(ids).size).toBe(1);
      expect(rig.sim.entries().filter((e) => e.orderId === ids[0] && e.kind === "authorize")).toHaveLength(1);
      const reused = await rig.order(rig.alice, { ...body, lines: [{ sku: "CONS-BATT-AA4", quantity: 3 }] }, "retry-me");
      expect(reused.status).toBe(422);
      expect((await json<{ error: { code: string } }>(reused)).error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    });

    it("refuses bad orders with a clear 4xx and records nothing", async () => {
      const before = (await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor))).orders.length;
      const cases: [unknown, string][] = [
        [{ siteId: "site-1", lines: [{ sku: "NO-SUCH", quantity: 1 }] }, "lines.0.sku"],
        [{ siteId: "site-1", lines: [{ sku: SENSOR, quantity: 0 }] }, "lines.0.quantity"],
        [{ siteId: "site-1", lines: [{ sku: SENSOR, quantity: -2 }] }, "lines.0.quantity"],
        [{ siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1e9 }] }, "lines.0.quantity"],
        [{ siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1.5 }] }, "lines.0.quantity"],
        [{ siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1, unitPriceMinor: 1 }] }, "lines.0"],
        [{ siteId: "site-1", totalMinor: 1, lines: [{ sku: SENSOR, quantity: 1 }] }, "(root)"],
        [{ siteId: "nowhere", lines: [{ sku: SENSOR, quantity: 1 }] }, "siteId"],
        [{ siteId: "site-1", lines: [] }, "lines"],
      ];
      for (const [body, path] of cases) {
        const res = await rig.order(rig.alice, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        const err = await json<{ error: { code: string; problems: { path: string }[] } }>(res);
        expect(err.error.code).toBe("VALIDATION_FAILED");
        expect(err.error.problems.map((p) => p.path)).toContain(path);
      }
      const badKey = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1 }] }, "bad key with spaces");
      expect(badKey.status).toBe(400);
      const after = (await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor))).orders.length;
      expect(after).toBe(before);
    });

    it("a viewer cannot order or edit prices; the refusal is audited", async () => {
      const res = await rig.order(rig.victor, { siteId: "site-1", lines: [{ sku: SENSOR, quantity: 1 }] });
      expect(res.status).toBe(403);
      const put = await rig.t.api("/api/commerce/products/CONS-FILTER", rig.alice, {
        method: "PUT",
        body: JSON.stringify({ name: "x", kind: "consumable", priceMinor: 1, currency: "EUR", taxRateBp: 0 }),
      });
      expect(put.status).toBe(403);
      const audit = await json<{ entries: { action: string; actor: string }[] }>(await rig.t.api("/api/audit?limit=50", rig.admin));
      const refused = audit.entries.filter((e) => e.action === "commerce.refused").map((e) => e.actor);
      expect(refused).toEqual(expect.arrayContaining(["victor", "alice"]));
    });

    it("the rebuild command replays the event store into read models equal to the live ones", async () => {
      const snapshot = async () => {
        const { orders } = await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor));
        const timelines = await Promise.all(
          orders.map(async (o) => json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${o.id}`, rig.victor))),
        );
        const sales = await json<unknown>(await rig.t.api("/api/commerce/sales", rig.victor));
        return { orders, timelines, sales };
      };
      const live = await snapshot();
      expect(live.orders.length).toBeGreaterThan(200);
      const res = await rig.t.api("/api/commerce/projections/rebuild", rig.admin, { method: "POST" });
      expect(res.status).toBe(200);
      expect((await json<{ streams: number }>(res)).streams).toBe(live.orders.length);
      expect(await snapshot()).toEqual(live);
    });
  });
}
