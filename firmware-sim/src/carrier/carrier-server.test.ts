/** The carrier simulator over real HTTP, called by a real `soap` client built from its served WSDL. */
import { type Client, createClientAsync } from "soap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CARRIER_PATH, CarrierSimulator } from "./carrier-server.js";

type SoapError = Error & { response?: { status: number }; root?: { Envelope: { Body: { Fault: Record<string, unknown> } } } };

const shipTo = { siteId: "site-1", name: "Plant 1" };
const parcels = { parcel: [{ reference: "DEV-ENV-SENSOR", quantity: 2, weightGrams: 400 }] };

describe("bv-sim carrier", () => {
  const sim = new CarrierSimulator({}, () => 0.5);
  let base = "";
  let client: Client;
  const faults = (body: unknown) => fetch(`${base}/faults`, { method: "POST", body: JSON.stringify(body) });
  const failure = async (p: Promise<unknown>): Promise<SoapError> => {
    try {
      await p;
    } catch (err) {
      return err as SoapError;
    }
    throw new Error("expected the call to fail");
  };

  const faultOf = (err: SoapError) => {
    const fault = err.root?.Envelope.Body.Fault;
    if (!fault) throw new Error(`expected a SOAP Fault, got ${err.message}`);
    return fault as { faultcode: string; faultstring: string; detail: { CarrierFault: { code: string } } };
  };

  beforeAll(async () => {
    base = `http://127.0.0.1:${await sim.start(0)}`;
    client = await createClientAsync(`${base}${CARRIER_PATH}?wsdl`, { endpoint: `${base}${CARRIER_PATH}` });
  });
  afterAll(() => sim.stop());

  it("serves the WSDL with both operations", () => {
    const ops = Object.keys(client.describe().CarrierService.CarrierPort);
    expect(ops.sort()).toEqual(["CreateShipment", "QuoteRate"]);
  });

  it("creates one shipment per order: the same order answers the same tracking number and label", async () => {
    const [first] = await client.CreateShipmentAsync({ orderId: "ord-1", shipTo, parcels });
    const [again] = await client.CreateShipmentAsync({ orderId: "ord-1", shipTo, parcels });
    expect(first.trackingNumber).toMatch(/^BV[0-9A-F]{12}$/);
    expect(again.trackingNumber).toBe(first.trackingNumber);
    expect(Buffer.from(first.label, "base64").toString("utf8")).toContain(`^FD${first.trackingNumber}^FS`);
    const [other] = await client.CreateShipmentAsync({ orderId: "ord-2", shipTo, parcels });
    expect(other.trackingNumber).not.toBe(first.trackingNumber);
    expect(sim.entries().map((s) => s.orderId)).toEqual(["ord-1", "ord-2"]);
    const listed = (await (await fetch(`${base}/shipments`)).json()) as { shipments: { trackingNumber: string }[] };
    expect(listed.shipments[0]?.trackingNumber).toBe(first.trackingNumber);
  });

  it("quotes a rate from the rate card and records nothing", async () => {
    const [q] = await client.QuoteRateAsync({ shipTo, parcels: { parcel: [{ reference: "A", quantity: 3, weightGrams: 400 }] } });
    // 1200 g: 4.90 + 3 × 1.50
    expect(q).toMatchObject({ amountMinor: 940, currency: "EUR", service: "STANDARD", transitDays: 2 });
    expect(sim.entries()).toHaveLength(2);
  });

  it("answers bad input with a soap:Client fault naming every problem, and records nothing", async () => {
    const err = await failure(
      client.CreateShipmentAsync({
        orderId: "",
        shipTo: { siteId: "site-1", name: "" },
        parcels: { parcel: [{ reference: "A", quantity: 0, weightGrams: 90_000 }] },
      }),
    );
    expect(err.response?.status).toBe(500);
    const fault = faultOf(err);
    expect(fault.faultcode).toBe("soap:Client");
    expect(fault.detail.CarrierFault.code).toBe("INVALID_REQUEST");
    for (const path of ["orderId", "shipTo.name", "parcels.0.quantity", "parcels.0.weightGrams"]) expect(fault.faultstring).toContain(path);
    const conflict = await failure(
      client.CreateShipmentAsync({ orderId: "ord-1", shipTo, parcels: { parcel: [{ reference: "X", quantity: 9, weightGrams: 1 }] } }),
    );
    expect(faultOf(conflict).faultstring).toMatch(/^SHIPMENT_CONFLICT/);
    expect(sim.entries()).toHaveLength(2);
  });

  it("injects outages (HTTP 503), carrier errors (soap:Server fault) and latency; refused calls record nothing", async () => {
    expect((await faults({ outage: true })).status).toBe(200);
    expect((await failure(client.CreateShipmentAsync({ orderId: "ord-3", shipTo, parcels }))).response?.status).toBe(503);
    await faults({ outage: false, errorRate: 1 });
    const err = await failure(client.CreateShipmentAsync({ orderId: "ord-3", shipTo, parcels }));
    expect(faultOf(err).faultcode).toBe("soap:Server");
    await faults({ errorRate: 0, latencyMs: 120 });
    const t0 = performance.now();
    const [ok] = await client.CreateShipmentAsync({ orderId: "ord-3", shipTo, parcels });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    expect(ok.trackingNumber).toMatch(/^BV/);
    expect(sim.entries().filter((s) => s.orderId === "ord-3")).toHaveLength(1);
    expect((await faults({ errorRate: 2 })).status).toBe(400);
    expect(sim.faults.errorRate).toBe(0);
    await faults({ latencyMs: 0 });
  });

  it("keeps its shipments across a stop and restart on the same port", async () => {
    const port = Number(new URL(base).port);
    await sim.stop();
    expect(
      await fetch(`${base}/healthz`).then(
        () => "up",
        () => "down",
      ),
    ).toBe("down");
    await sim.start(port);
    const [again] = await client.CreateShipmentAsync({ orderId: "ord-1", shipTo, parcels });
    expect(again.trackingNumber).toBe(sim.entries()[0]?.trackingNumber);
  });
});
