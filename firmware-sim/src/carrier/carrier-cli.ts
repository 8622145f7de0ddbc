/** `bv-sim carrier`: the shipping carrier simulator as a program (see carrier-server.ts). */
import { ConfigError, parseCli, waitForShutdown } from "@bitvelocity/common";
import { CARRIER_PATH, CarrierSimulator } from "./carrier-server.js";

export const CARRIER_USAGE = `Usage: bv-sim carrier [--port N] [--latency MS] [--error-rate P] [--outage]

Serves a shipping carrier over SOAP 1.1 on http://127.0.0.1:PORT${CARRIER_PATH} until stopped, from the
contract proto/carrier.wsdl (GET ${CARRIER_PATH}?wsdl): CreateShipment (idempotent by order id: the same
order gets the same tracking number) and QuoteRate; bad input is answered with a soap:Client fault.
GET /shipments lists the shipments; GET|POST /faults changes faults while running.

Options:
  --port N            TCP port (default 8091; 0 picks one; the chosen port is printed on stdout)
  --latency MS        delay every SOAP call by MS milliseconds
  --error-rate P      share of SOAP calls answered with a soap:Server fault CARRIER_UNAVAILABLE (0..1)
  --outage            start in an outage (every SOAP call HTTP 503) until POST /faults {"outage": false}`;

function num(name: string, raw: unknown, fallback: number, max: number): number {
  if (typeof raw !== "string") return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > max)
    throw new ConfigError([`--${name}: expected 0..${max}, got ${JSON.stringify(raw)}`]);
  return n;
}

export async function runCarrier(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim carrier",
      usage: CARRIER_USAGE,
      options: {
        port: { type: "string" },
        latency: { type: "string" },
        "error-rate": { type: "string" },
        outage: { type: "boolean" },
      },
    },
    argv,
  );
  const sim = new CarrierSimulator({
    latencyMs: num("latency", values.latency, 0, 600_000),
    errorRate: num("error-rate", values["error-rate"], 0, 1),
    outage: values.outage === true,
  });
  const port = await sim.start(num("port", values.port, 8091, 65_535));
  // The same line as the other programs print, so scripts/system.mjs learns the port.
  process.stdout.write(`${JSON.stringify({ msg: "listening", listener: "http", port, url: `http://127.0.0.1:${port}${CARRIER_PATH}` })}\n`);
  await waitForShutdown();
  await sim.stop();
}
