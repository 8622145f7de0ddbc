/**
 * A shipping carrier simulator (`bv-sim carrier`): the external peer of the cloud's shipping.
 * A SOAP 1.1 service built from the contract in @bitvelocity/proto (proto/carrier.wsdl) with the
 * `soap` package, on 127.0.0.1:
 * - CreateShipment: one shipment per order, idempotent by orderId (the same order and parcels
 *   answer the first shipment's tracking number and label again; the same order with other
 *   parcels is a SHIPMENT_CONFLICT Client fault);
 * - QuoteRate: the price of a shipment, nothing recorded;
 * - bad input: a soap:Client fault with code INVALID_REQUEST and what is wrong.
 * Fault injection, changeable while it runs (GET|POST /faults, JSON), like `bv-sim payments`:
 * - `latencyMs`: every SOAP call waits this long before answering (slow carrier);
 * - `errorRate`: share of SOAP calls answered with a soap:Server fault CARRIER_UNAVAILABLE;
 * - `outage`: every SOAP call is answered HTTP 503 without an envelope (the carrier's front door
 *   is down) until switched off.
 * A call refused by a fault records nothing. GET /shipments lists what was created.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CARRIER_NAMESPACE, carrierWsdl } from "@bitvelocity/proto/carrier";
import { listen } from "soap";
import { type Parcel, parseQuote, parseShipment, quote, type ShipTo } from "./carrier-rules.js";

export interface CarrierFaults {
  latencyMs: number;
  errorRate: number;
  outage: boolean;
}

export interface Shipment {
  readonly seq: number;
  readonly orderId: string;
  readonly trackingNumber: string;
  readonly service: string;
  readonly shipTo: ShipTo;
  readonly parcels: readonly Parcel[];
  /** ZPL label text (sent base64-encoded). */
  readonly label: string;
  readonly createdAt: string;
}

/** The SOAP path the service answers on; the WSDL is at `${path}?wsdl`. */
export const CARRIER_PATH = "/carrier";

const MAX_BODY = 16 * 1024;

/** What a service method throws to answer a SOAP 1.1 Fault (the soap package serialises it). */
export class SoapFault extends Error {
  readonly Fault: { faultcode: string; faultstring: string; detail: unknown; statusCode: number };
  constructor(side: "Client" | "Server", code: string, message: string) {
    super(message);
    this.Fault = {
      faultcode: `soap:${side}`,
      faultstring: `${code}: ${message}`,
      detail: { "tns:CarrierFault": { attributes: { "xmlns:tns": CARRIER_NAMESPACE }, "tns:code": code, "tns:message": message } },
      statusCode: 500,
    };
  }
}

export class CarrierSimulator {
  readonly faults: CarrierFaults;
  private readonly shipments = new Map<string, { fingerprint: string; shipment: Shipment }>();
  private readonly order: Shipment[] = [];
  private server: Server | undefined;
  private calls = 0;

  constructor(
    faults: Partial<CarrierFaults> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.faults = { latencyMs: 0, errorRate: 0, outage: false, ...faults };
  }

  /** Listens on host:port (0 picks one); resolves to the port. */
  async start(port = 0, host = "127.0.0.1"): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => json(res, 500, { error: { code: "INTERNAL", message: String(err) } }));
    });
    server.keepAliveTimeout = 5_000;
    // The soap listener takes CARRIER_PATH once the WSDL is parsed and hands other paths to ours.
    await new Promise<void>((resolve, reject) => {
      const soap = listen(server, {
        path: CARRIER_PATH,
        services: this.services(),
        xml: carrierWsdl(),
        callback: (err: unknown) => (err ? reject(err) : resolve()),
      });
      // Runs before every request (SOAP or not): during an outage SOAP calls get 503 without an envelope.
      soap.authorizeConnection = (req, res) => {
        const path = new URL(req.url ?? "/", "http://sim").pathname.replace(/\/+$/, "");
        if (req.method !== "POST" || path !== CARRIER_PATH) return true;
        this.calls++;
        if (!this.faults.outage || !res) return true;
        req.resume();
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("carrier unavailable");
        return false;
      };
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Closes the listener and every open connection: an outage of the process. State is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Shipments created, in order. */
  entries(): readonly Shipment[] {
    return this.order;
  }

  /** SOAP calls received (refused by a fault or not). */
  callCount(): number {
    return this.calls;
  }

  private services() {
    const guard = async () => {
      if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
      if (this.random() < this.faults.errorRate)
        throw new SoapFault("Server", "CARRIER_UNAVAILABLE", "the carrier could not process the request; try again");
    };
    return {
      CarrierService: {
        CarrierPort: {
          CreateShipment: async (args: unknown) => {
            await guard();
            return this.createShipment(args);
          },
          QuoteRate: async (args: unknown) => {
            await guard();
            const parsed = parseQuote(args);
            if (!parsed.ok) throw new SoapFault("Client", "INVALID_REQUEST", parsed.problems.join("; "));
            return quote(parsed.value.parcels);
          },
        },
      },
    };
  }

  private createShipment(args: unknown) {
    const parsed = parseShipment(args);
    if (!parsed.ok) throw new SoapFault("Client", "INVALID_REQUEST", parsed.problems.join("; "));
    const { orderId, shipTo, parcels } = parsed.value;
    const fingerprint = JSON.stringify({ siteId: shipTo.siteId, parcels });
    const seen = this.shipments.get(orderId);
    if (seen && seen.fingerprint !== fingerprint)
      throw new SoapFault("Client", "SHIPMENT_CONFLICT", `order ${orderId} already has a shipment with other parcels`);
    const shipment = seen?.shipment ?? this.record(orderId, shipTo, parcels, fingerprint);
    return {
      trackingNumber: shipment.trackingNumber,
      service: shipment.service,
      label: Buffer.from(shipment.label, "utf8").toString("base64"),
      createdAt: shipment.createdAt,
    };
  }

  private record(orderId: string, shipTo: ShipTo, parcels: Parcel[], fingerprint: string): Shipment {
    const trackingNumber = `BV${randomBytes(6).toString("hex").toUpperCase()}`;
    const shipment: Shipment = {
      seq: this.order.length + 1,
      orderId,
      trackingNumber,
      service: quote(parcels).service,
      shipTo,
      parcels,
      label: zplLabel(trackingNumber, orderId, shipTo, parcels),
      createdAt: new Date().toISOString(),
    };
    this.shipments.set(orderId, { fingerprint, shipment });
    this.order.push(shipment);
    return shipment;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim");
    if (req.method === "GET" && url.pathname === "/healthz") return json(res, 200, { ok: true });
    if (req.method === "GET" && url.pathname === "/shipments") return json(res, 200, { shipments: this.order });
    if (req.method === "GET" && url.pathname === "/faults") return json(res, 200, this.faults);
    if (req.method === "POST" && url.pathname === "/faults") {
      const body = await readJson(req);
      if (!body) return json(res, 400, { error: { code: "BAD_JSON", message: "expected a JSON object" } });
      const problem = this.setFaults(body);
      return problem ? json(res, 400, { error: { code: "BAD_FAULTS", message: problem } }) : json(res, 200, this.faults);
    }
    json(res, 404, { error: { code: "NOT_FOUND", message: url.pathname } });
  }

  /** Applies the faults in `body`; answers what is wrong (and changes nothing) or undefined. */
  setFaults(body: Record<string, unknown>): string | undefined {
    const problems: string[] = [];
    const num = (k: "latencyMs" | "errorRate", max: number) => {
      const v = body[k];
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max)) problems.push(`${k}: expected 0..${max}`);
    };
    num("latencyMs", 600_000);
    num("errorRate", 1);
    if (body.outage !== undefined && typeof body.outage !== "boolean") problems.push("outage: expected a boolean");
    if (problems.length > 0) return problems.join("; ");
    if (typeof body.latencyMs === "number") this.faults.latencyMs = body.latencyMs;
    if (typeof body.errorRate === "number") this.faults.errorRate = body.errorRate;
    if (typeof body.outage === "boolean") this.faults.outage = body.outage;
    return undefined;
  }
}

/** A 4×6 in label in ZPL II: recipient, order and the tracking number as a Code 128 barcode. */
function zplLabel(trackingNumber: string, orderId: string, shipTo: ShipTo, parcels: readonly Parcel[]): string {
  const clean = (s: string) => s.replace(/[\^~]/g, " ");
  const grams = parcels.reduce((a, p) => a + p.weightGrams * p.quantity, 0);
  return [
    "^XA",
    `^FO50,50^A0N,40,40^FD${clean(shipTo.name)} (${clean(shipTo.siteId)})^FS`,
    `^FO50,110^A0N,30,30^FDOrder ${clean(orderId)}, ${grams} g^FS`,
    `^FO50,170^BCN,120,Y,N,N^FD${trackingNumber}^FS`,
    "^XZ",
  ].join("\n");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
