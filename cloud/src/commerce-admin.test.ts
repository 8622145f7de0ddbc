/**
 * The catalog admin over REST on a real cloud and payment simulator (SQLite and PostgreSQL): an
 * admin edits a product and the shop prices new orders with it; stock is set and adjusted by a
 * delta with a reason (audited); an adjustment that would take stock below zero or below what is
 * reserved is refused with 409 and changes nothing; unknown SKUs and locations are 404; bad bodies
 * 400; viewers and operators get 403 and the refusal is audited.
 */
import type { AuditEntry, Order, Product, StockLevel } from "@bitvelocity/api";
import { postgres } from "@bitvelocity/common/test-services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommerceRig, json, startCommerceRig } from "./test-support.js";

const SKU = "CONS-FILTER";
const pgService = await postgres();

type ErrorBody = { error: { code: string; message: string; problems?: { path: string; message: string }[] } };

for (const engine of ["sqlite", "postgres"] as const) {
  const skip = engine === "postgres" && !pgService.available;
  describe.skipIf(skip)(`catalog admin on ${engine}${skip ? " (skipped: PostgreSQL not available)" : ""}`, () => {
    let rig: CommerceRig;
    beforeAll(async () => {
      rig = await startCommerceRig(engine === "postgres" && pgService.available ? { pgUrl: pgService.url } : {});
    });
    afterAll(async () => {
      await rig?.close();
    });

    const adjust = (token: string, sku: string, location: string, body: unknown) =>
      rig.t.api(`/api/commerce/stock/${sku}/${location}/adjust`, token, { method: "POST", body: JSON.stringify(body) });
    const level = async (sku: string, location = "warehouse-1") =>
      (await json<{ stock: StockLevel[] }>(await rig.t.api("/api/commerce/stock", rig.victor))).stock.find(
        (s) => s.sku === sku && s.location === location,
      );
    const audit = async (action: string) =>
      (await json<{ entries: AuditEntry[] }>(await rig.t.api(`/api/audit?limit=200&action=${action}`, rig.admin))).entries;

    it("an admin edits name, price, tax rate and the active flag; new orders use the new price", async () => {
      const res = await rig.t.api(`/api/commerce/products/${SKU}`, rig.admin, {
        method: "PUT",
        body: JSON.stringify({
          name: "Dust filter, fine",
          kind: "consumable",
          priceMinor: 1250,
          currency: "EUR",
          taxRateBp: 550,
          active: true,
        }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect((await json<{ product: Product }>(res)).product).toMatchObject({
        name: "Dust filter, fine",
        priceMinor: 1250,
        taxRateBp: 550,
      });
      const placed = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SKU, quantity: 2 }] }, "admin-price-1");
      expect(placed.status).toBe(201);
      // 2 × 12.50 = 25.00, tax 5.5 % = 1.375 → 1.38 (half up): 26.38.
      expect((await json<{ order: Order }>(placed)).order).toMatchObject({ subtotalMinor: 2500, taxMinor: 138, totalMinor: 2638 });

      const off = await rig.t.api(`/api/commerce/products/${SKU}`, rig.admin, {
        method: "PUT",
        body: JSON.stringify({
          name: "Dust filter, fine",
          kind: "consumable",
          priceMinor: 1250,
          currency: "EUR",
          taxRateBp: 550,
          active: false,
        }),
      });
      expect(off.status).toBe(200);
      const shop = (await json<{ products: Product[] }>(await rig.t.api("/api/commerce/products", rig.victor))).products;
      expect(shop.some((p) => p.sku === SKU)).toBe(false);
      const all = (await json<{ products: Product[] }>(await rig.t.api("/api/commerce/products?all=1", rig.admin))).products;
      expect(all.find((p) => p.sku === SKU)?.active).toBe(false);
      const refused = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SKU, quantity: 1 }] }, "admin-price-2");
      expect(refused.status).toBe(400);
      await rig.t.api(`/api/commerce/products/${SKU}`, rig.admin, {
        method: "PUT",
        body: JSON.stringify({
          name: "Dust filter, fine",
          kind: "consumable",
          priceMinor: 1250,
          currency: "EUR",
          taxRateBp: 550,
          active: true,
        }),
      });

      const fractional = await rig.t.api(`/api/commerce/products/${SKU}`, rig.admin, {
        method: "PUT",
        body: JSON.stringify({ name: "x", kind: "consumable", priceMinor: 12.5, currency: "EUR", taxRateBp: 550 }),
      });
      expect(fractional.status).toBe(400);
      expect((await json<ErrorBody>(fractional)).error.problems?.map((p) => p.path)).toContain("priceMinor");
    });

    it("adjusts stock by a delta with a reason, audited", async () => {
      await rig.setStock(SKU, 10);
      const up = await adjust(rig.admin, SKU, "warehouse-1", { delta: 5, reason: "delivery 4711" });
      expect(up.status, await up.clone().text()).toBe(200);
      expect((await json<{ stock: StockLevel }>(up)).stock).toMatchObject({ sku: SKU, location: "warehouse-1", onHand: 15, available: 15 });
      const down = await adjust(rig.admin, SKU, "warehouse-1", { delta: -4, reason: "  broken in transit " });
      expect((await json<{ stock: StockLevel }>(down)).stock).toMatchObject({ onHand: 11 });
      expect(await level(SKU)).toMatchObject({ onHand: 11, reserved: 0 });
      const entries = await audit("stock.adjust");
      expect(entries.slice(0, 2).map((e) => [e.actor, e.target, e.detail])).toEqual([
        ["admin", `${SKU}@warehouse-1`, { delta: -4, reason: "broken in transit", onHand: 11 }],
        ["admin", `${SKU}@warehouse-1`, { delta: 5, reason: "delivery 4711", onHand: 15 }],
      ]);
      // A site is a known location even before it holds stock: the first delivery creates the row.
      const site = await adjust(rig.admin, SKU, "site-2", { delta: 3, reason: "spare parts shelf" });
      expect((await json<{ stock: StockLevel }>(site)).stock).toMatchObject({ location: "site-2", onHand: 3 });
    });

    it("refuses with 409 a delta that would take stock negative or below what is reserved, changing nothing", async () => {
      await rig.setStock(SKU, 4);
      const below = await adjust(rig.admin, SKU, "warehouse-1", { delta: -5, reason: "count" });
      expect(below.status).toBe(409);
      const body = await json<ErrorBody>(below);
      expect(body.error.code).toBe("STOCK_WOULD_GO_NEGATIVE");
      expect(body.error.message).toContain("4 on hand");
      expect(await level(SKU)).toMatchObject({ onHand: 4 });

      // An order waiting for the payment provider holds 3 units: only 1 can be removed.
      rig.sim.faults.outage = true;
      try {
        const waiting = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: SKU, quantity: 3 }] }, "admin-reserved");
        expect(waiting.status).toBe(503);
        expect(await level(SKU)).toMatchObject({ onHand: 4, reserved: 3 });
        const reserved = await adjust(rig.admin, SKU, "warehouse-1", { delta: -2, reason: "count" });
        expect(reserved.status).toBe(409);
        expect((await json<ErrorBody>(reserved)).error.message).toContain("3 reserved");
        expect(await level(SKU)).toMatchObject({ onHand: 4, reserved: 3 });
        const ok = await adjust(rig.admin, SKU, "warehouse-1", { delta: -1, reason: "count" });
        expect((await json<{ stock: StockLevel }>(ok)).stock).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
      } finally {
        rig.sim.faults.outage = false;
      }

      // A SKU with no stock row at a known location: refused, and no empty row is left behind.
      const none = await adjust(rig.admin, "CONS-BATT-AA4", "site-1", { delta: -1, reason: "count" });
      expect(none.status).toBe(409);
      expect(await level("CONS-BATT-AA4", "site-1")).toBeUndefined();
    });

    it("answers 404 for an unknown SKU or location and 400 for a bad body", async () => {
      const sku = await adjust(rig.admin, "NO-SUCH-SKU", "warehouse-1", { delta: 1, reason: "x" });
      expect(sku.status).toBe(404);
      expect((await json<ErrorBody>(sku)).error.message).toContain("NO-SUCH-SKU");
      const location = await adjust(rig.admin, SKU, "moon-base", { delta: 1, reason: "x" });
      expect(location.status).toBe(404);
      expect((await json<ErrorBody>(location)).error.message).toContain("moon-base");
      expect(await level(SKU, "moon-base")).toBeUndefined();
      for (const [bad, path] of [
        [{ delta: 1.5, reason: "x" }, "delta"],
        [{ delta: 0, reason: "x" }, "delta"],
        [{ delta: "3", reason: "x" }, "delta"],
        [{ delta: 2, reason: "   " }, "reason"],
        [{ delta: 2 }, "reason"],
        [{ delta: 2, reason: "x", onHand: 9 }, ""],
      ] as const) {
        const res = await adjust(rig.admin, SKU, "warehouse-1", bad);
        expect(res.status, JSON.stringify(bad)).toBe(400);
        const problems = (await json<ErrorBody>(res)).error.problems ?? [];
        expect(problems.length, JSON.stringify(bad)).toBeGreaterThan(0);
        if (path) expect(problems.map((p) => p.path)).toContain(path);
      }
    });

    it("refuses viewers and operators with 403 and audits the refusal", async () => {
      const other = "SHELF-WATER-6";
      const before = await level(other);
      expect(before?.onHand).toBeGreaterThan(0);
      for (const token of [rig.victor, rig.alice]) {
        const res = await adjust(token, other, "warehouse-1", { delta: 100, reason: "free stock" });
        expect(res.status).toBe(403);
        expect((await json<ErrorBody>(res)).error.code).toBe("FORBIDDEN");
      }
      expect(await level(other)).toEqual(before);
      const refused = (await audit("commerce.refused")).filter((e) => e.detail.action === "stock.adjust");
      expect(refused.map((e) => e.actor).sort()).toEqual(["alice", "victor"]);
    });
  });
}
