/**
 * `bv-sim warehouse` as a process against the real RabbitMQ (127.0.0.1:5672; skipped with the reason
 * when it is not reachable, failing instead under BV_REQUIRE_SERVICES=1): a confirmed order in, its
 * three shipment updates out (persistent, unique message ids, in order), duplicates on request, and
 * a bad option refused with exit 1. Exchanges and queues are named for this run.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { rabbitMqLock } from "@bitvelocity/common/test-services";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The built CLI: `npx tsc -b firmware-sim` first.
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
const RUN = `bv.test.${randomUUID().slice(0, 8)}`;
const N = { events: `${RUN}.events`, orders: `${RUN}.orders`, fulfilment: `${RUN}.fulfilment` };

let conn: ChannelModel | undefined;
let ch: Channel | undefined;
let why = "";
const children: ChildProcess[] = [];

let releaseLock: (() => void) | undefined;
beforeAll(async () => {
  releaseLock = await rabbitMqLock();
  try {
    conn = await amqp.connect(AMQP_URL, { timeout: 3000 });
    conn.on("error", () => undefined);
    ch = await conn.createChannel();
  } catch (err) {
    why = `RabbitMQ is not reachable on 127.0.0.1:5672: ${(err as Error).message}`;
    if (process.env.BV_REQUIRE_SERVICES === "1") throw new Error(why);
  }
}, 660_000);

afterAll(async () => {
  try {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    if (!conn) return;
    const channel = await conn.createChannel();
    for (const q of [N.orders, N.fulfilment]) await channel.deleteQueue(q).catch(() => undefined);
    for (const x of [N.events, N.fulfilment]) await channel.deleteExchange(x).catch(() => undefined);
    await conn.close();
  } finally {
    releaseLock?.();
  }
});

/** Starts the CLI and resolves once it printed that it consumes. */
function startWarehouse(extra: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, "warehouse", "--url", AMQP_URL, "--events-exchange", N.events, "--orders-queue", N.orders].concat([
      "--fulfilment-exchange",
      N.fulfilment,
      "--fulfilment-queue",
      N.fulfilment,
      "--step-ms",
      "10",
      ...extra,
    ]),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("warehouse consuming")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`bv-sim warehouse exited ${code}: ${out}`)));
  });
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

async function updates(channel: Channel, count: number): Promise<{ id: string; persistent: boolean; body: Record<string, unknown> }[]> {
  const got: { id: string; persistent: boolean; body: Record<string, unknown> }[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < count && Date.now() < deadline) {
    const m = await channel.get(N.fulfilment, { noAck: true });
    if (!m) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    got.push({
      id: String(m.properties.messageId),
      persistent: m.properties.deliveryMode === 2,
      body: JSON.parse(m.content.toString()) as Record<string, unknown>,
    });
  }
  return got;
}

function confirmOrder(channel: Channel, orderId: string): void {
  const body = {
    id: randomUUID(),
    event: "orderConfirmed",
    at: Date.now(),
    payload: { orderId, siteId: "site-1", totalMinor: 1, currency: "EUR" },
  };
  channel.publish(N.events, "commerce.order-confirmed", Buffer.from(JSON.stringify(body)), { persistent: true, messageId: body.id });
}

describe("bv-sim warehouse", () => {
  it("refuses a bad fault share with exit 1", async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [BIN, "warehouse", "--duplicates", "2"], { timeout: 15_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--duplicates: expected 0..1");
  });

  it("publishes picked, shipped, delivered for a confirmed order, persistent with unique ids; twice each with --duplicates 1", async (ctx) => {
    if (!ch) return ctx.skip(why);
    const channel = ch;
    let child = await startWarehouse([]);
    confirmOrder(channel, "order-a");
    const a = await updates(channel, 3);
    expect(a.map((u) => u.body.stage)).toEqual(["picked", "shipped", "delivered"]);
    expect(a.every((u) => u.persistent && u.id === u.body.id && u.body.orderId === "order-a")).toBe(true);
    expect(new Set(a.map((u) => u.id)).size).toBe(3);
    expect(await stopped(child)).toBe(0);

    child = await startWarehouse(["--duplicates", "1"]);
    confirmOrder(channel, "order-b");
    const b = await updates(channel, 6);
    expect(b.map((u) => u.body.stage)).toEqual(["picked", "picked", "shipped", "shipped", "delivered", "delivered"]);
    expect(new Set(b.map((u) => u.id)).size).toBe(3);
    expect(await stopped(child)).toBe(0);
  }, 60_000);
});
