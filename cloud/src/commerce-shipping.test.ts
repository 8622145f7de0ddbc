/**
 * Shipping labels end to end: a real cloud (SQLite and PostgreSQL), the real payment simulator
 * and the real carrier simulator over SOAP. A confirmed order with physical goods gets a label
 * (LabelRequested → Labelled with the carrier's tracking number, on the REST order detail); an
 * order of shelf items gets none; while the carrier is down the order stays confirmed and shows
 * LabelFailed (retrying), and is labelled once the carrier is back; a request the carrier refuses
 * (soap:Client fault) is LabelFailed for good, with the carrier's reason, and is not retried.
 */
import type { Order, TimelineEntry } from "@bitvelocity/api";
import { postgres } from "@bitvelocity/common/test-services";
import { CarrierSimulator } from "@bitvelocity/firmware-sim/carrier";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommerceRig, json, startCommerceRig, waitFor } from "./test-support.js";

const pgService = await postgres();
type Detail = { order: Order; timeline: TimelineEntry[] };

for (const engine of ["sqlite", "postgres"] as const) {
  const skip = engine === "postgres" && !pgService.available;
  describe.skipIf(skip)(`shipping labels on ${engine}${skip ? " (skipped: PostgreSQL not available)" : ""}`, () => {
    const carrier = new CarrierSimulator();
    let carrierPort = 0;
    let rig: CommerceRig;
    const detail = async (id: string) => json<Detail>(await rig.t.api(`/api/commerce/orders/${id}`, rig.victor));
    const place = async (lines: { sku: string; quantity: number }[], key: string, siteId = "site-1") => {
      const res = await rig.order(rig.alice, { siteId, lines }, key);
      expect(res.status).toBe(201);
      return (await json<{ order: Order }>(res)).order;
    };
    const labelled = (id: string, ms = 10_000) =>
      waitFor(
        async () => {
          const d = await detail(id);
          return d.order.shipping.status === "labelled" ? d : undefined;
        },
        ms,
        `order ${id} labelled`,
      );

    beforeAll(async () => {
      carrierPort = await carrier.start(0);
      rig = await startCommerceRig(
        engine === "postgres" && pgService.available ? { pgUrl: pgService.url } : {},
        {
          carrier_url: `http://127.0.0.1:${carrierPort}/carrier`,
          carrier_timeout_ms: 500,
          carrier_attempts: 1,
          breaker_failures: 2,
          breaker_half_open_ms: 1000,
          label_retry_max_ms: 200,
        },
        {
          // site-3's name is longer than the carrier accepts (128 characters): its labels are refused.
          sites: [
            { id: "site-1", name: "Plant 1" },
            { id: "site-2", name: "Plant 2" },
            { id: "site-3", name: `Plant ${"3".repeat(144)}` },
          ],
        },
      );
    });
    afterAll(async () => {
      await rig?.close();
      await carrier.stop();
    });

    it("checkout → confirmed → Labelled: the carrier's tracking number is on the order detail", async () => {
      const order = await place(
        [
          { sku: "DEV-ENV-SENSOR", quantity: 2 },
          { sku: "CONS-FILTER", quantity: 1 },
        ],
        "ship-1",
      );
      expect(order.status).toBe("confirmed");
      const d = await labelled(order.id);
      const shipment = carrier.entries().find((s) => s.orderId === order.id);
      expect(shipment).toBeDefined();
      expect(d.order).toMatchObject({ status: "confirmed", shipping: { status: "labelled", trackingNumber: shipment?.trackingNumber } });
      expect(shipment?.shipTo).toEqual({ siteId: "site-1", name: "Plant 1" });
      expect(shipment?.parcels.map((p) => [p.reference, p.quantity])).toEqual([
        ["DEV-ENV-SENSOR", 2],
        ["CONS-FILTER", 1],
      ]);
      // Fleet's DevicesProvisioned lands on the timeline whenever it arrives.
      const types = d.timeline.map((e) => e.type).filter((t) => t !== "DevicesProvisioned");
      expect(types.slice(types.indexOf("OrderConfirmed"))).toEqual(["OrderConfirmed", "LabelRequested", "Labelled"]);
      const done = d.timeline.find((e) => e.type === "Labelled");
      expect(done).toMatchObject({ step: "label", status: "succeeded" });
      expect(done?.detail).toContain(shipment?.trackingNumber);
      // The list read model carries it too, and a rebuild from the event store gives the same.
      const list = async () =>
        (await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor))).orders.find(
          (o) => o.id === order.id,
        );
      expect((await list())?.shipping.trackingNumber).toBe(shipment?.trackingNumber);
      const rebuilt = await rig.t.api("/api/commerce/projections/rebuild", rig.admin, { method: "POST" });
      expect(rebuilt.status).toBe(200);
      expect((await list())?.shipping).toEqual({ status: "labelled", trackingNumber: shipment?.trackingNumber });
    });

    it("an order of shelf items only is not shipped", async () => {
      const order = await place([{ sku: "SHELF-WATER-6", quantity: 2 }], "ship-2");
      expect(order.status).toBe("confirmed");
      await new Promise((r) => setTimeout(r, 300));
      const d = await detail(order.id);
      expect(d.order.shipping).toEqual({ status: "none", trackingNumber: null });
      expect(d.timeline.some((e) => e.step === "label")).toBe(false);
      expect(carrier.entries().some((s) => s.orderId === order.id)).toBe(false);
    });

    it("carrier down: the order stays confirmed with LabelFailed (retrying); carrier back: Labelled", async () => {
      await carrier.stop();
      const order = await place([{ sku: "CONS-BATT-AA4", quantity: 3 }], "ship-3");
      expect(order.status).toBe("confirmed");
      const failing = await waitFor(
        async () => {
          const d = await detail(order.id);
          return d.timeline.filter((e) => e.type === "LabelFailed").length >= 3 ? d : undefined;
        },
        10_000,
        "three failed label attempts",
      );
      expect(failing.order).toMatchObject({ status: "confirmed", shipping: { status: "retrying", trackingNumber: null } });
      const failed = failing.timeline.filter((e) => e.type === "LabelFailed");
      expect(failed[0]).toMatchObject({ step: "label", status: "retrying" });
      expect(failed[0]?.detail).toMatch(/^attempt 1: carrier unavailable: carrier unreachable/);
      // After two failures the breaker is open: later attempts fail at once without a call.
      expect(failed.some((e) => /circuit breaker is open/.test(e.detail))).toBe(true);
      await carrier.start(carrierPort);
      const d = await labelled(order.id);
      const shipment = carrier.entries().find((s) => s.orderId === order.id);
      expect(d.order.shipping.trackingNumber).toBe(shipment?.trackingNumber);
      expect(d.timeline.filter((e) => e.type === "LabelRequested")).toHaveLength(1);
      expect(carrier.entries().filter((s) => s.orderId === order.id)).toHaveLength(1);
    });

    it("a request the carrier refuses (soap:Client fault) is LabelFailed for good with the carrier's reason", async () => {
      const calls = carrier.callCount();
      const order = await place([{ sku: "CONS-FILTER", quantity: 1 }], "ship-4", "site-3");
      expect(order.status).toBe("confirmed");
      const d = await waitFor(
        async () => {
          const x = await detail(order.id);
          return x.order.shipping.status === "failed" ? x : undefined;
        },
        10_000,
        "label refused",
      );
      expect(d.order).toMatchObject({ status: "confirmed", shipping: { status: "failed", trackingNumber: null } });
      const failed = d.timeline.filter((e) => e.type === "LabelFailed");
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ step: "label", status: "failed" });
      expect(failed[0]?.detail).toMatch(/carrier refused the request \(INVALID_REQUEST\): shipTo\.name/);
      // Not retried: one call, and none after a few retry periods.
      await new Promise((r) => setTimeout(r, 600));
      expect(carrier.callCount() - calls).toBe(1);
      expect((await detail(order.id)).timeline.filter((e) => e.type === "LabelFailed")).toHaveLength(1);
    });
  });
}
