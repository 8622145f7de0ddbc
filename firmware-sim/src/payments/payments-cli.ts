/** `bv-sim payments`: the payment provider simulator as a program (see payments-server.ts). */
import { ConfigError, parseCli, waitForShutdown } from "@bitvelocity/common";
import { PaymentsSimulator } from "./payments-server.js";

export const PAYMENTS_USAGE = `Usage: bv-sim payments [--port N] [--latency MS] [--error-rate P] [--timeout-rate P] [--outage]

Serves a payment provider on http://127.0.0.1:PORT until stopped: POST /authorize, /capture, /void,
/refund (JSON, each idempotent by "key"), GET /ledger, GET|POST /faults (change faults while running).

Options:
  --port N            TCP port (default 8090; 0 picks one; the chosen port is printed on stdout)
  --latency MS        delay every money call by MS milliseconds
  --error-rate P      share of money calls answered 503 (0..1)
  --timeout-rate P    share of money calls never answered (0..1)
  --outage            start in an outage (every money call 503) until POST /faults {"outage": false}`;

function num(name: string, raw: unknown, fallback: number, max: number): number {
  if (typeof raw !== "string") return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > max)
    throw new ConfigError([`--${name}: expected 0..${max}, got ${JSON.stringify(raw)}`]);
  return n;
}

export async function runPayments(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim payments",
      usage: PAYMENTS_USAGE,
      options: {
        port: { type: "string" },
        latency: { type: "string" },
        "error-rate": { type: "string" },
        "timeout-rate": { type: "string" },
        outage: { type: "boolean" },
      },
    },
    argv,
  );
  const sim = new PaymentsSimulator({
    latencyMs: num("latency", values.latency, 0, 600_000),
    errorRate: num("error-rate", values["error-rate"], 0, 1),
    timeoutRate: num("timeout-rate", values["timeout-rate"], 0, 1),
    outage: values.outage === true,
  });
  const port = await sim.start(num("port", values.port, 8090, 65_535));
  // The same line as the other programs print, so scripts/system.mjs learns the port.
  process.stdout.write(`${JSON.stringify({ msg: "listening", listener: "http", port, url: `http://127.0.0.1:${port}` })}\n`);
  await waitForShutdown();
  await sim.stop();
}
