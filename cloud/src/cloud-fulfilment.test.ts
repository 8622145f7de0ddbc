/**
 * The fulfilment queue against the real RabbitMQ (127.0.0.1:5672), a real cloud, a real payment
 * simulator and the warehouse simulator (bv-sim warehouse): a confirmed order is moved to
 * delivered; duplicated and out-of-order updates are applied once and in order; garbage is
 * dead-lettered with its reason while the queue moves on; a broker restart (rabbitmqctl
 * stop_app / start_app) in the middle of the stream loses and duplicates nothing. Every exchange
 * and queue is named for this run, so parallel runs do not meet.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentLogger } from "@bitvelocity/common";
import { rabbitMqLock } from "@bitvelocity/common/test-services";
import { PaymentsSimulator, WarehouseSimulator } from "@bitvelocity/firmware-sim";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { createClient } from "graphql-ws";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FulfilmentConsumer } from "./integration/amqp/fulfilment-consumer.js";
import { FulfilmentHandler } from "./integration/amqp/fulfilment-handler.js";
import { integrationMigrations } from "./integration/migrations.js";
import type { FulfilmentUpdate } from "./integration/ports.js";
import { openDatabase } from "./platform/database.js";
import { json, type OrderDetail, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const URL = "amqp://guest:guest@127.0.0.1:5672";
const run = promisify(execFile);
const RUN = `bv.test.${randomUUID().slice(0, 8)}`;
const NAMES = {
  events: `${RUN}.events`,
  orders: `${RUN}.warehouse-orders`,
  fulfilment: `${RUN}.fulfilment`,
  deadLetter: `${RUN}.dead-letter`,
  failing: `${RUN}.failing`,
  failingDead: `${RUN}.failing-dead-letter`,
};
const SHIPMENT_TYPES = ["OrderPicked", "OrderShipped", "OrderDelivered"];

function portAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port: 5672 });
    s.setTimeout(1000);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

let available = false;
let why = "";
let conn: ChannelModel | undefined;
let ch: Channel | undefined;

async function openTestChannel(): Promise<void> {
  conn = await amqp.connect(URL, { timeout: 5000 });
  conn.on("error", () => undefined); // the broker restart test closes it on purpose
  ch = await conn.createChannel();
  ch.on("error", () => undefined);
}

let releaseLock: (() => void) | undefined;
beforeAll(async () => {
  releaseLock = await rabbitMqLock();
  try {
    await openTestChannel();
    available = true;
  } catch (err) {
    why = `RabbitMQ is not reachable on 127.0.0.1:5672: ${(err as Error).message}`;
    if (process.env.BV_REQUIRE_SERVICES === "1") throw new Error(why);
  }
}, 660_000);

afterAll(async () => {
  try {
    if (!conn) return;
    const channel = await conn.createChannel().catch(() => undefined);
    for (const q of [NAMES.orders, NAMES.fulfilment, NAMES.deadLetter, NAMES.failing, NAMES.failingDead])
      await channel?.deleteQueue(q).catch(() => undefined);
    for (const x of [NAMES.events, NAMES.fulfilment, NAMES.deadLetter, NAMES.failing, NAMES.failingDead])
      await channel?.deleteExchange(x).catch(() => undefined);
    await conn.close().catch(() => undefined);
  } finally {
    releaseLock?.();
  }
});

describe("the fulfilment queue and the warehouse simulator", () => {
  let t: TestCloud | undefined;
  let payments: PaymentsSimulator | undefined;
  let warehouse: WarehouseSimulator | undefined;
  let alice = "";
  let victor = "";
  const warehouseFor = (stepMs: number) =>
    new WarehouseSimulator({
      url: URL,
      eventsExchange: NAMES.events,
      ordersQueue: NAMES.orders,
      fulfilmentExchange: NAMES.fulfilment,
      fulfilmentQueue: NAMES.fulfilment,
      stepMs,
    });

  beforeAll(async () => {
    if (!available) return;
    payments = new PaymentsSimulator();
    const paymentsPort = await payments.start(0);
    t = await startTestCloud({
      "amqp.url": URL,
      "amqp.exchange": NAMES.events,
      "amqp.relay_poll_ms": 100,
      "amqp.fulfilment_queue": NAMES.fulfilment,
      "amqp.fulfilment_exchange": NAMES.fulfilment,
      "amqp.dead_letter_exchange": NAMES.deadLetter,
      "amqp.prefetch": 8,
      "amqp.max_attempts": 3,
      "amqp.reorder_wait_ms": 1500,
      commerce: { payments_url: `http://127.0.0.1:${paymentsPort}`, saga_poll_ms: 100, saga_retry_max_ms: 300, seed_stock: 1000 },
    });
    [alice, victor] = [await t.login("alice"), await t.login("victor")];
    warehouse = warehouseFor(20);
    await warehouse.start();
  }, 60_000);

  afterAll(async () => {
    await warehouse?.stop();
    await t?.close();
    await payments?.stop();
  });

  async function confirmedOrder(): Promise<string> {
    const res = await (t as TestCloud).api("/api/commerce/orders", alice, {
      method: "POST",
      body: JSON.stringify({ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 1 }] }),
    });
    expect(res.status).toBe(201);
    const { order } = await json<{ order: { id: string; status: string } }>(res);
    expect(order.status).toBe("confirmed");
    return order.id;
  }

  async function detail(id: string): Promise<OrderDetail> {
    return json<OrderDetail>(await (t as TestCloud).api(`/api/commerce/orders/${id}`, victor));
  }

  function delivered(id: string, timeoutMs = 20_000): Promise<OrderDetail> {
    return waitFor(
      async () => {
        const d = await detail(id);
        return d.order.status === "delivered" ? d : undefined;
      },
      timeoutMs,
      `order ${id} delivered`,
    );
  }

  const shipments = (d: OrderDetail) => d.timeline.filter((e) => SHIPMENT_TYPES.includes(e.type)).map((e) => e.type);

  it("moves a confirmed order to delivered: picked, shipped, delivered on its timeline", async (ctx) => {
    if (!available) return ctx.skip(why);
    const id = await confirmedOrder();
    const d = await delivered(id);
    expect(d.timeline.map((e) => e.type).slice(-4)).toEqual(["OrderConfirmed", ...SHIPMENT_TYPES]);
    expect(d.timeline.slice(-3).map((e) => e.step)).toEqual(["pick", "ship", "deliver"]);
    expect(d.timeline.slice(-3).every((e) => e.status === "succeeded")).toBe(true);
  });

  it("GraphQL orderStatus follows the order past confirmed and completes at delivered", async (ctx) => {
    if (!available) return ctx.skip(why);
    const id = await confirmedOrder();
    const client = createClient({
      url: `${(t as TestCloud).url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${victor}` },
      retryAttempts: 0,
    });
    const statuses: string[] = [];
    try {
      const end = await new Promise<unknown>((resolve) => {
        client.subscribe<{ orderStatus: { status: string } }>(
          { query: "subscription($id: ID!) { orderStatus(id: $id) { status } }", variables: { id } },
          { next: (m) => m.data && statuses.push(m.data.orderStatus.status), error: resolve, complete: () => resolve("complete") },
        );
      });
      expect(end).toBe("complete");
      expect(statuses.slice(-4)).toEqual(["confirmed", "picked", "shipped", "delivered"]);
    } finally {
      await client.dispose();
    }
  });

  it("applies duplicated and out-of-order updates once each, in order", async (ctx) => {
    if (!available || !warehouse) return ctx.skip(why);
    warehouse.setFaults({ duplicates: 1, outOfOrder: 1 });
    try {
      const ids = [await confirmedOrder(), await confirmedOrder()];
      for (const id of ids) {
        const d = await delivered(id);
        expect(shipments(d)).toEqual(SHIPMENT_TYPES);
      }
      // Quiet for a while: no late duplicate changes anything.
      await new Promise((r) => setTimeout(r, 500));
      for (const id of ids) expect(shipments(await detail(id))).toEqual(SHIPMENT_TYPES);
    } finally {
      warehouse.setFaults({ duplicates: 0, outOfOrder: 0 });
    }
  });

  it("dead-letters garbage with its reason, and the queue moves on", async (ctx) => {
    if (!available || !warehouse || !ch) return ctx.skip(why);
    const channel = ch;
    const publish = (content: string, messageId?: string) =>
      channel.publish(NAMES.fulfilment, "fulfilment.picked", Buffer.from(content), {
        persistent: true,
        ...(messageId ? { messageId } : {}),
      });
    publish(JSON.stringify({ id: "no-message-id", orderId: "x", stage: "picked", at: 1 }));
    publish(JSON.stringify({ id: "bad-stage", orderId: "x", stage: "lost", at: 1 }), "bad-stage");
    publish(JSON.stringify({ id: "nobody", orderId: "no-such-order", stage: "picked", at: 1 }), "nobody");
    warehouse.setFaults({ garbage: 1 });
    try {
      const id = await confirmedOrder();
      const d = await delivered(id);
      expect(shipments(d)).toEqual(SHIPMENT_TYPES);
    } finally {
      warehouse.setFaults({ garbage: 0 });
    }
    const dead: { id: unknown; reason: string }[] = [];
    await waitFor(
      async () => {
        for (;;) {
          const m = await channel.get(NAMES.deadLetter, { noAck: true });
          if (!m) break;
          dead.push({ id: m.properties.messageId, reason: String(m.properties.headers?.["x-bv-reason"]) });
        }
        return dead.length >= 4 || undefined;
      },
      10_000,
      "four dead letters",
    );
    // Each dead-lettered with its reason. Their order is not the property: the warehouse's garbage
    // can overtake the hand-published ones (CI saw it second).
    expect(dead).toHaveLength(4);
    expect(dead).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "missing message_id" }),
        { id: "bad-stage", reason: expect.stringMatching(/^schema: stage: /) },
        { id: "nobody", reason: "order no-such-order: unknown order" },
        { id: expect.stringMatching(/^wh-garbage-/), reason: expect.stringMatching(/^not JSON: /) },
      ]),
    );
    const { messageCount } = await channel.checkQueue(NAMES.fulfilment);
    expect(messageCount).toBe(0);
  });

  it("loses and duplicates nothing when the broker restarts mid-stream", async (ctx) => {
    if (!available || !warehouse) return ctx.skip(why);
    // The confirmed orders queue up for the warehouse while it is away; then it ships them slowly.
    await warehouse.stop();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await confirmedOrder());
    const orderQueued = await waitFor(
      async () => ((await (ch as Channel).checkQueue(NAMES.orders)).messageCount >= ids.length ? true : undefined),
      20_000,
      "confirmed orders queued for the warehouse",
    );
    expect(orderQueued).toBe(true);
    warehouse = warehouseFor(100);
    await warehouse.start();
    let restarted = false;
    try {
      // Mid-stream: some orders have shipment events, most do not yet.
      await waitFor(
        async () => {
          const ds = await Promise.all(ids.slice(0, 3).map(detail));
          return ds.every((d) => shipments(d).length > 0) || undefined;
        },
        20_000,
        "the first orders picked",
      );
      const before = await Promise.all(ids.map(detail));
      expect(before.filter((d) => d.order.status === "delivered").length).toBeLessThan(ids.length);
      await run("rabbitmqctl", ["stop_app"], { timeout: 60_000 });
      restarted = true;
      await run("rabbitmqctl", ["start_app"], { timeout: 120_000 });
      await waitFor(portAnswers, 60_000, "RabbitMQ answering again");
      for (const id of ids) {
        const d = await delivered(id, 90_000);
        expect(shipments(d), id).toEqual(SHIPMENT_TYPES);
      }
    } finally {
      if (restarted && !(await portAnswers())) await run("rabbitmqctl", ["start_app"], { timeout: 120_000 }).catch(() => undefined);
      // The test's own connection died with the broker: reopen it for the cleanup.
      await openTestChannel().catch(() => undefined);
    }
  }, 300_000);

  it("applies an update whose predecessors never come after reorder_wait_ms; a late one never moves the order back", async (ctx) => {
    if (!available || !warehouse || !ch) return ctx.skip(why);
    await warehouse.stop(); // this order's updates come from the test alone
    const channel = ch;
    const id = await confirmedOrder();
    const send = (stage: string) => {
      const body = { id: `test-${id}-${stage}`, orderId: id, stage, at: Date.now(), detail: `${stage} (test)` };
      channel.publish(NAMES.fulfilment, `fulfilment.${stage}`, Buffer.from(JSON.stringify(body)), { persistent: true, messageId: body.id });
    };
    const sent = Date.now();
    send("delivered");
    const d = await delivered(id, 15_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1400);
    expect(shipments(d)).toEqual(["OrderDelivered"]);
    send("picked");
    send("delivered");
    await new Promise((r) => setTimeout(r, 1000));
    const after = await detail(id);
    expect(after.order.status).toBe("delivered");
    expect(shipments(after)).toEqual(["OrderDelivered"]);
  });
});

describe("a fulfilment update whose processing keeps failing", () => {
  it("is re-queued, then dead-lettered after max_attempts with the reason; the queue moves on", async (ctx) => {
    if (!available || !ch) return ctx.skip(why);
    const channel = ch;
    const dir = mkdtempSync(join(tmpdir(), "bv-fulfilment-"));
    const db = await openDatabase(dir, [{ name: "integration", migrations: integrationMigrations }]);
    // The consumer's policy is under test here: the port records what reaches it; the failure below is a real closed database.
    const reached: FulfilmentUpdate[] = [];
    const handler = new FulfilmentHandler(
      db,
      {
        async record(u) {
          reached.push(u);
          return { status: "applied" };
        },
      },
      60_000,
    );
    const consumer = new FulfilmentConsumer(
      {
        url: URL,
        exchange: NAMES.failing,
        queue: NAMES.failing,
        deadLetterExchange: NAMES.failingDead,
        prefetch: 4,
        maxAttempts: 3,
        sweepMs: 1000,
      },
      handler,
      silentLogger(),
      new Registry(),
    );
    consumer.start();
    try {
      await consumer.connected();
      const send = (id: string, headers: Record<string, unknown> = {}) =>
        channel.publish(NAMES.failing, "fulfilment.picked", Buffer.from(JSON.stringify({ id, orderId: "o-1", stage: "picked", at: 1 })), {
          persistent: true,
          messageId: id,
          headers,
        });
      send("works");
      await waitFor(() => reached.length === 1 || undefined, 10_000, "the first update applied");
      await db.destroy();
      const started = Date.now();
      send("fails");
      const dead = await waitFor(async () => (await channel.get(NAMES.failingDead, { noAck: true })) || undefined, 20_000, "a dead letter");
      expect(dead.properties.messageId).toBe("fails");
      expect(String(dead.properties.headers?.["x-bv-reason"])).toMatch(/^failed 3 attempts: /);
      // Two back-offs (0.2 s, 0.4 s) before the third attempt.
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      // The count travels with the message: the copy that failed the third time carried 2.
      expect(dead.properties.headers?.["x-bv-attempts"]).toBe(2);
      expect(String(dead.properties.headers?.["x-bv-last-error"])).not.toBe("");
      // A message that already failed twice (on another node, or before a restart) is dead-lettered on its next failure.
      send("failed-elsewhere", { "x-bv-attempts": 2 });
      const next = await waitFor(async () => (await channel.get(NAMES.failingDead, { noAck: true })) || undefined, 20_000, "a dead letter");
      expect(next.properties.messageId).toBe("failed-elsewhere");
      expect(String(next.properties.headers?.["x-bv-reason"])).toMatch(/^failed 3 attempts: /);
      expect(reached.map((u) => u.messageId)).toEqual(["works"]);
      expect((await channel.checkQueue(NAMES.failing)).messageCount).toBe(0);
    } finally {
      await consumer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
