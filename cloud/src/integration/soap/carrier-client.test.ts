/**
 * The SOAP carrier adapter against the real carrier simulator (bv-sim carrier) over HTTP:
 * labels and quotes, a soap:Client fault → CARRIER_REFUSED with the carrier's reason (not retried),
 * soap:Server faults retried, a timeout, and the carrier stopped then restarted: the breaker opens
 * (calls fail at once), then after recovery the label is obtained, with the same tracking number.
 */
import { isBvError } from "@bitvelocity/common";
import { CarrierSimulator } from "@bitvelocity/firmware-sim/carrier";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CarrierOptions, SoapCarrier } from "./carrier-client.js";
import { classify } from "./carrier-faults.js";

const shipTo = { siteId: "site-1", name: "Plant 1" };
const parcels = [{ reference: "DEV-ENV-SENSOR", quantity: 2, weightGrams: 400 }];

async function failure(p: Promise<unknown>): Promise<Error & { code?: string; faultCode?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; faultCode?: string };
  }
  throw new Error("expected the call to fail");
}

describe("SOAP carrier adapter against bv-sim carrier", () => {
  const sim = new CarrierSimulator({}, () => 0.5);
  let port = 0;
  const carrier = (patch: Partial<CarrierOptions> = {}) =>
    new SoapCarrier(
      { url: `http://127.0.0.1:${port}/carrier`, timeoutMs: 1000, retries: 2, breakerFailures: 3, halfOpenAfterMs: 300, ...patch },
      new Registry(),
    );

  beforeAll(async () => {
    port = await sim.start(0);
  });
  afterAll(() => sim.stop());

  it("gets a label (tracking number, ZPL) and a quote; the same order gets the same tracking number", async () => {
    const c = carrier();
    const a = await c.createShipment({ orderId: "ord-a", shipTo, parcels });
    expect(a.trackingNumber).toMatch(/^BV[0-9A-F]{12}$/);
    expect(a.label).toContain("^XA");
    expect((await c.createShipment({ orderId: "ord-a", shipTo, parcels })).trackingNumber).toBe(a.trackingNumber);
    expect(await c.quoteRate({ shipTo, parcels })).toMatchObject({ amountMinor: 790, currency: "EUR", service: "STANDARD" });
  });

  it("a soap:Client fault is CARRIER_REFUSED with the carrier's reason, and is not retried", async () => {
    const c = carrier();
    const before = sim.callCount();
    const err = await failure(c.createShipment({ orderId: "ord-b", shipTo: { siteId: "site-1", name: "" }, parcels }));
    expect(isBvError(err, "CARRIER_REFUSED")).toBe(true);
    expect(err.faultCode).toBe("INVALID_REQUEST");
    expect(err.message).toMatch(/carrier refused the request \(INVALID_REQUEST\): .*shipTo\.name/);
    expect(sim.callCount() - before).toBe(1);
    expect(c.state).toBe("closed");
  });

  it("soap:Server faults are retried; a slow carrier times out as CARRIER_UNAVAILABLE", async () => {
    const c = carrier();
    sim.setFaults({ errorRate: 1 });
    const before = sim.callCount();
    const err = await failure(c.createShipment({ orderId: "ord-c", shipTo, parcels }));
    expect(isBvError(err, "CARRIER_UNAVAILABLE")).toBe(true);
    expect(err.message).toMatch(/soap:Server \(CARRIER_UNAVAILABLE\)/);
    expect(sim.callCount() - before).toBe(3);
    sim.setFaults({ errorRate: 0, latencyMs: 400 });
    const slow = await failure(carrier({ timeoutMs: 100, retries: 0 }).createShipment({ orderId: "ord-c", shipTo, parcels }));
    expect(slow.message).toMatch(/timed out after 100 ms/);
    sim.setFaults({ latencyMs: 0 });
    expect(sim.entries().filter((s) => s.orderId === "ord-c").length).toBeLessThanOrEqual(1);
  });

  it("carrier stopped: the breaker opens and answers at once; restarted: the label is obtained", async () => {
    const c = carrier({ retries: 0, breakerFailures: 2, halfOpenAfterMs: 300 });
    const first = await c.createShipment({ orderId: "ord-d", shipTo, parcels });
    await sim.stop();
    for (let i = 0; i < 2; i++) {
      const err = await failure(c.createShipment({ orderId: "ord-e", shipTo, parcels }));
      expect(isBvError(err, "CARRIER_UNAVAILABLE")).toBe(true);
      expect(err.message).toMatch(/unreachable|ECONNREFUSED/);
    }
    expect(c.state).toBe("open");
    const t0 = performance.now();
    const open = await failure(c.createShipment({ orderId: "ord-e", shipTo, parcels }));
    expect(open.message).toMatch(/circuit breaker is open/);
    expect(performance.now() - t0).toBeLessThan(100);
    await sim.start(port);
    await new Promise((r) => setTimeout(r, 350));
    const label = await c.createShipment({ orderId: "ord-e", shipTo, parcels });
    expect(label.trackingNumber).toMatch(/^BV/);
    expect(c.state).toBe("closed");
    // The carrier kept its shipments: the order labelled before the outage keeps its number.
    expect((await c.createShipment({ orderId: "ord-d", shipTo, parcels })).trackingNumber).toBe(first.trackingNumber);
  });

  it("classifies failures without I/O", () => {
    expect(classify({ response: { status: 503 } })).toEqual({ transient: true, message: "carrier answered HTTP 503" });
    expect(classify({ response: { status: 404 } })).toMatchObject({ transient: false, code: "HTTP_404" });
    expect(classify({ code: "ECONNRESET" })).toEqual({ transient: true, message: "carrier unreachable: ECONNRESET" });
    const fault = (faultcode: string) => ({ root: { Envelope: { Body: { Fault: { faultcode, faultstring: "x" } } } } });
    expect(classify(fault("SOAP-ENV:Client.Validation")).transient).toBe(false);
    expect(classify(fault("soap:Server")).transient).toBe(true);
  });
});
