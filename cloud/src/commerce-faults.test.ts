/**
 * No double charge, no stuck order: checkouts while the payment simulator answers 503s and drops
 * calls at random. Every order ends confirmed or cancelled; the provider's ledger and the orders
 * agree: each capture belongs to one confirmed order, each confirmed order is captured once, and
 * an authorization of a cancelled order is voided.
 */
import type { Order } from "@bitvelocity/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommerceRig, json, startCommerceRig, waitFor } from "./test-support.js";

describe("checkout with a faulty payment provider", () => {
  let rig: CommerceRig;
  beforeAll(async () => {
    rig = await startCommerceRig(
      {},
      { payments_timeout_ms: 150, payments_attempts: 3, breaker_failures: 4, breaker_half_open_ms: 200, saga_retry_max_ms: 200 },
    );
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("every order ends terminal and the ledger agrees with the orders", async () => {
    await rig.setStock("CONS-FILTER", 25);
    rig.sim.faults.errorRate = 0.3;
    rig.sim.faults.timeoutRate = 0.05;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 1 }] }, `faulty-${i}`),
      ),
    );
    expect(answers.every((r) => [201, 409, 503].includes(r.status))).toBe(true);
    rig.sim.faults.errorRate = 0;
    rig.sim.faults.timeoutRate = 0;
    const orders = await waitFor(
      async () => {
        const list = (await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor))).orders;
        return list.length === 40 && list.every((o) => o.status === "confirmed" || o.status === "cancelled") ? list : undefined;
      },
      20_000,
      "every order terminal",
    );
    const confirmed = orders.filter((o) => o.status === "confirmed");
    expect(confirmed).toHaveLength(25);
    const ledger = rig.sim.entries();
    const captures = ledger.filter((e) => e.kind === "capture").map((e) => e.orderId);
    expect(new Set(captures).size).toBe(captures.length);
    expect(captures.sort()).toEqual(confirmed.map((o) => o.id).sort());
    const authorizedIds = new Set(ledger.filter((e) => e.kind === "authorize").map((e) => e.orderId));
    expect(authorizedIds.size).toBe(ledger.filter((e) => e.kind === "authorize").length);
    const voided = new Set(ledger.filter((e) => e.kind === "void").map((e) => e.orderId));
    for (const o of orders.filter((x) => x.status === "cancelled")) expect(!authorizedIds.has(o.id) || voided.has(o.id)).toBe(true);
    const { stock } = await json<{ stock: { sku: string; onHand: number; reserved: number }[] }>(
      await rig.t.api("/api/commerce/stock", rig.victor),
    );
    expect(stock.find((s) => s.sku === "CONS-FILTER")).toMatchObject({ onHand: 0, reserved: 0 });
  });
});
