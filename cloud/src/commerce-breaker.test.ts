/**
 * The payment provider behind cockatiel's breaker, tested against the real simulator over HTTP:
 * stopped (outage) → the breaker opens and checkout answers in milliseconds with
 * PAYMENTS_UNAVAILABLE while the order waits; restarted → half-open → closed and the waiting
 * orders complete. Slow (latency past the timeout) → the timeout acts, then orders complete.
 */
import type { Order, PaymentsStatus } from "@bitvelocity/api";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommerceRig, json, type OrderDetail, startCommerceRig, waitFor } from "./test-support.js";

const BODY = { siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 1 }] };

describe("payments behind a circuit breaker", () => {
  let rig: CommerceRig;
  let revived: PaymentsSimulator | undefined;
  const status = async () => json<PaymentsStatus>(await rig.t.api("/api/commerce/payments", rig.victor));
  const order = async (id: string) => (await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${id}`, rig.victor))).order;
  const idOf = (message: string) => /order (ord_[0-9a-f-]+)/.exec(message)?.[1] ?? "";

  beforeAll(async () => {
    rig = await startCommerceRig(
      {},
      { payments_timeout_ms: 250, payments_attempts: 2, breaker_failures: 3, breaker_half_open_ms: 600, saga_retry_max_ms: 300 },
    );
  });
  afterAll(async () => {
    await revived?.stop();
    await rig?.close();
  });

  it("opens when the provider is down, answers fast, and completes the waiting orders when it is back", async () => {
    expect((await status()).breaker).toBe("closed");
    await rig.sim.stop();
    const waiting: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await rig.order(rig.alice, BODY, `outage-${i}`);
      expect(res.status).toBe(503);
      const err = await json<{ error: { code: string; message: string } }>(res);
      expect(err.error.code).toBe("PAYMENTS_UNAVAILABLE");
      waiting.push(idOf(err.error.message));
    }
    await waitFor(async () => ((await status()).breaker === "open" ? true : undefined), 5000, "breaker open");

    // Open breaker: no network wait at all. The best of three answers, so one scheduling stall of a
    // loaded test machine is not taken for a network wait.
    const elapsed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const fast = await rig.order(rig.alice, BODY, `while-open-${i}`);
      elapsed.push(performance.now() - started);
      expect(fast.status).toBe(503);
      const fastErr = await json<{ error: { code: string; message: string } }>(fast);
      expect(fastErr.error.code).toBe("PAYMENTS_UNAVAILABLE");
      expect(fastErr.error.message).toMatch(/payments unavailable/);
      waiting.push(idOf(fastErr.error.message));
    }
    expect(Math.min(...elapsed)).toBeLessThan(100);
    for (const id of waiting) expect((await order(id)).status).toBe("payment_pending");
    expect((await status()).pendingOrders).toBeGreaterThanOrEqual(4);

    // The provider comes back on the same port: the saga's retries close the breaker and finish every order.
    revived = new PaymentsSimulator();
    await revived.start(rig.simPort);
    await waitFor(
      async () => {
        const orders = await Promise.all(waiting.map(order));
        return orders.every((o) => o.status === "confirmed") ? true : undefined;
      },
      15_000,
      "waiting orders confirmed",
    );
    expect((await status()).breaker).toBe("closed");
    const captures = revived.entries().filter((e) => e.kind === "capture");
    expect(captures.map((e) => e.orderId).sort()).toEqual([...waiting].sort());
    const detail = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${waiting[0]}`, rig.victor));
    expect(detail.timeline.some((e) => e.type === "PaymentDeferred" && e.status === "retrying")).toBe(true);
    const metrics = await (await fetch(`${rig.t.url}/metrics`)).text();
    expect(metrics).toMatch(/bv_commerce_payments_breaker_state 0/);
    expect(metrics).toMatch(/bv_commerce_payment_calls_total\{op="authorize",outcome="breaker_open"\} [1-9]/);
  });

  it("times out a slow provider and completes the order once it is fast again", async () => {
    const sim = revived!;
    sim.faults.latencyMs = 1000;
    const res = await rig.order(rig.alice, BODY, "slow-1");
    expect(res.status).toBe(503);
    const err = await json<{ error: { message: string } }>(res);
    expect(err.error.message).toMatch(/timed out after 250 ms|circuit breaker is open/);
    const id = idOf(err.error.message);
    sim.faults.latencyMs = 0;
    const done = await waitFor(async () => ((await order(id)).status === "confirmed" ? true : undefined), 15_000, "slow order confirmed");
    expect(done).toBe(true);
    // Timed-out calls may have reached the provider: idempotency keys kept it to one authorization.
    expect(sim.entries().filter((e) => e.orderId === id && e.kind === "authorize")).toHaveLength(1);
  });

  it("a declined payment compensates: stock released, order cancelled", async () => {
    const before = await json<{ stock: { sku: string; reserved: number; onHand: number }[] }>(
      await rig.t.api("/api/commerce/stock", rig.victor),
    );
    const filterBefore = before.stock.find((s) => s.sku === "CONS-FILTER")!;
    // The provider refuses to authorize a zero amount with a 400: a definite no, like a card decline.
    const put = await rig.t.api("/api/commerce/products/CONS-ZERO", rig.admin, {
      method: "PUT",
      body: JSON.stringify({ name: "Free sample", kind: "consumable", priceMinor: 0, currency: "EUR", taxRateBp: 0 }),
    });
    expect(put.status).toBe(200);
    await rig.setStock("CONS-ZERO", 5);
    const res = await rig.order(rig.alice, { siteId: "site-1", lines: [{ sku: "CONS-ZERO", quantity: 2 }] }, "declined-1");
    expect(res.status).toBe(409);
    const err = await json<{ error: { code: string; message: string } }>(res);
    expect(err.error.code).toBe("ORDER_CANCELLED");
    const cancelled: Order = await order(idOf(err.error.message));
    expect(cancelled.status).toBe("cancelled");
    const detail = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${cancelled.id}`, rig.victor));
    expect(detail.timeline.map((e) => e.type)).toEqual(["OrderPlaced", "StockReserved", "CheckoutFailed", "Compensated", "OrderCancelled"]);
    const after = await json<{ stock: { sku: string; reserved: number; onHand: number }[] }>(
      await rig.t.api("/api/commerce/stock", rig.victor),
    );
    expect(after.stock.find((s) => s.sku === "CONS-ZERO")).toMatchObject({ onHand: 5, reserved: 0 });
    expect(after.stock.find((s) => s.sku === "CONS-FILTER")?.onHand).toBe(filterBefore.onHand);
  });
});
