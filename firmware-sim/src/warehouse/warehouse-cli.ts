/** `bv-sim warehouse`: the warehouse simulator as a program (see warehouse-sim.ts). */
import { ConfigError, parseCli, waitForShutdown } from "@bitvelocity/common";
import { WarehouseSimulator } from "./warehouse-sim.js";

export const WAREHOUSE_USAGE = `Usage: bv-sim warehouse [--url URL] [--events-exchange NAME] [--orders-queue NAME]
       [--fulfilment-exchange NAME] [--fulfilment-queue NAME] [--step-ms MS]
       [--duplicates P] [--out-of-order P] [--garbage P]

Consumes confirmed orders from the cloud's RabbitMQ topic exchange and publishes each order's
shipment updates (picked, shipped, delivered) to the fulfilment exchange, until stopped.

Options:
  --url URL                  RabbitMQ (default amqp://guest:guest@127.0.0.1:5672)
  --events-exchange NAME     the cloud's domain-event exchange (default bv.events)
  --orders-queue NAME        this warehouse's durable queue of confirmed orders (default bv.warehouse.orders)
  --fulfilment-exchange NAME where updates are published (default bv.fulfilment)
  --fulfilment-queue NAME    the cloud's fulfilment queue, declared here too (default bv.fulfilment)
  --step-ms MS               pause between one order's updates (default 500)
  --duplicates P             share of orders whose updates are all sent twice (0..1)
  --out-of-order P           share of orders whose updates are sent delivered, picked, shipped (0..1)
  --garbage P                share of orders preceded by an unparseable or schema-invalid message (0..1)`;

function num(name: string, raw: unknown, fallback: number, max: number): number {
  if (typeof raw !== "string") return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > max)
    throw new ConfigError([`--${name}: expected 0..${max}, got ${JSON.stringify(raw)}`]);
  return n;
}

function text(raw: unknown, fallback: string): string {
  return typeof raw === "string" && raw.trim() !== "" ? raw : fallback;
}

export async function runWarehouse(argv: string[]): Promise<void> {
  const { values } = parseCli(
    {
      name: "bv-sim warehouse",
      usage: WAREHOUSE_USAGE,
      options: {
        url: { type: "string" },
        "events-exchange": { type: "string" },
        "orders-queue": { type: "string" },
        "fulfilment-exchange": { type: "string" },
        "fulfilment-queue": { type: "string" },
        "step-ms": { type: "string" },
        duplicates: { type: "string" },
        "out-of-order": { type: "string" },
        garbage: { type: "string" },
      },
    },
    argv,
  );
  const faults = {
    duplicates: num("duplicates", values.duplicates, 0, 1),
    outOfOrder: num("out-of-order", values["out-of-order"], 0, 1),
    garbage: num("garbage", values.garbage, 0, 1),
  };
  const sim = new WarehouseSimulator({
    url: text(values.url, "amqp://guest:guest@127.0.0.1:5672"),
    eventsExchange: text(values["events-exchange"], "bv.events"),
    ordersQueue: text(values["orders-queue"], "bv.warehouse.orders"),
    fulfilmentExchange: text(values["fulfilment-exchange"], "bv.fulfilment"),
    fulfilmentQueue: text(values["fulfilment-queue"], "bv.fulfilment"),
    stepMs: num("step-ms", values["step-ms"], 500, 600_000),
    faults,
    onDisconnect: (err) =>
      process.stderr.write(`${JSON.stringify({ msg: "RabbitMQ connection lost; reconnecting", err: String(err ?? "closed") })}\n`),
  });
  await sim.start();
  process.stdout.write(`${JSON.stringify({ msg: "warehouse consuming", faults })}\n`);
  await waitForShutdown();
  await sim.stop();
  process.stdout.write(`${JSON.stringify({ msg: "warehouse stopped", ...sim.stats })}\n`);
}
