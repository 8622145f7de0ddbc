/**
 * Domain events to the real RabbitMQ (127.0.0.1:5672): the integration module publishes edge
 * presence from a real cloud, and the AMQP outbox loses and duplicates nothing across a broker
 * restart (rabbitmqctl stop_app / start_app) in the middle of a stream.
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
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpOutbox } from "./integration/amqp/amqp-outbox.js";
import { ConfirmPublisher } from "./integration/amqp/confirm-publisher.js";
import { integrationMigrations } from "./integration/migrations.js";
import { type Database, openDatabase } from "./platform/database.js";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const URL = "amqp://guest:guest@127.0.0.1:5672";
const run = promisify(execFile);

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
const cleanup: { exchange: string; queue: string }[] = [];

let releaseLock: (() => void) | undefined;
beforeAll(async () => {
  releaseLock = await rabbitMqLock();
  try {
    conn = await amqp.connect(URL, { timeout: 3000 });
    conn.on("error", () => undefined);
    ch = await conn.createChannel();
    ch.on("error", () => undefined);
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
    for (const c of cleanup) {
      await channel?.deleteQueue(c.queue).catch(() => undefined);
      await channel?.deleteExchange(c.exchange).catch(() => undefined);
    }
    await conn.close().catch(() => undefined);
  } finally {
    releaseLock?.();
  }
});

/** A durable queue bound to everything on a fresh exchange (both deleted after the tests). */
async function tap(): Promise<{ exchange: string; queue: string }> {
  const exchange = `bv.test.${randomUUID().slice(0, 8)}`;
  const queue = `${exchange}.all`;
  cleanup.push({ exchange, queue });
  const channel = ch as Channel;
  await channel.assertExchange(exchange, "topic", { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, "#");
  return { exchange, queue };
}

interface Got {
  routingKey: string;
  messageId: string;
  persistent: boolean;
  body: { id: string; event: string; payload: Record<string, unknown> };
}

/** Every message now in the queue (acknowledged, so the queue ends empty). */
async function drainQueue(channel: Channel, queue: string): Promise<Got[]> {
  const got: Got[] = [];
  for (;;) {
    const m = await channel.get(queue, { noAck: true });
    if (!m) return got;
    got.push({
      routingKey: m.fields.routingKey,
      messageId: String(m.properties.messageId),
      persistent: m.properties.deliveryMode === 2,
      body: JSON.parse(m.content.toString()) as Got["body"],
    });
  }
}

describe("domain events to RabbitMQ", () => {
  let t: TestCloud | undefined;
  let tapped: { exchange: string; queue: string } | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it("publishes edge online/offline from a running cloud, once each, persistent, keyed <domain>.<event>", async (ctx) => {
    if (!available) return ctx.skip(why);
    const { exchange, queue } = await tap();
    tapped = { exchange, queue };
    t = await startTestCloud({ "amqp.url": URL, "amqp.exchange": exchange, "amqp.relay_poll_ms": 100 });
    const edge = new EdgeLink(t.grpcAddress);
    edge.hello("edge-1", undefined, [{ deviceId: "env-1", deviceType: "env-sensor" }]);
    await edge.next("welcome");
    edge.close();
    const got: Got[] = [];
    await waitFor(
      async () => {
        got.push(...(await drainQueue(ch as Channel, queue)));
        return got.some((g) => g.routingKey === "fleet.edge-offline") || undefined;
      },
      20_000,
      "edge-offline on RabbitMQ",
    );
    // Give a duplicate every chance to show: the relay polls every 100 ms; a few polls later the queue is still empty.
    const polls = Date.now() + 1000;
    await waitFor(
      async () => {
        got.push(...(await drainQueue(ch as Channel, queue)));
        return Date.now() > polls || undefined;
      },
      10_000,
      "quiet queue",
    );
    expect(got.map((g) => g.routingKey)).toEqual(["fleet.edge-online", "fleet.edge-offline"]);
    expect(new Set(got.map((g) => g.messageId)).size).toBe(2);
    expect(got.every((g) => g.persistent && g.body.id === g.messageId)).toBe(true);
    expect(got[0]?.body).toMatchObject({ event: "edgeConnected", payload: { edgeId: "edge-1", devices: 1 } });
  });

  it("publishes an alert when raised and when acknowledged, keyed alerts.alert-updated", async (ctx) => {
    if (!available || !t || !tapped) return ctx.skip(why || "the cloud of the previous test did not start");
    const admin = await t.login("admin");
    const operator = await t.login("alice");
    const rule = await t.api("/api/alert-rules", admin, {
      method: "POST",
      body: JSON.stringify({
        name: "Hot hall",
        kind: "metric_threshold",
        severity: "critical",
        params: { metric: "temperature", op: "above", threshold: 40 },
      }),
    });
    expect(rule.status).toBe(201);
    const edge = new EdgeLink(t.grpcAddress);
    try {
      edge.hello("edge-1", undefined, [{ deviceId: "env-1", deviceType: "env-sensor" }]);
      await edge.next("welcome");
      edge.batch(1, [reading(1, "env-1", { temperature: 45 })]);
      await edge.next("ack");
      const alerts: Got[] = [];
      const channel = ch as Channel;
      const queue = tapped.queue;
      await waitFor(
        async () => {
          alerts.push(...(await drainQueue(channel, queue)).filter((g) => g.routingKey.startsWith("alerts.")));
          return alerts.length > 0 || undefined;
        },
        20_000,
        "alert raised on RabbitMQ",
      );
      const raised = alerts[0]?.body.payload as { id: string; state: string; subjectId: string };
      expect(raised).toMatchObject({ state: "open", subjectId: "env-1" });
      expect((await t.api(`/api/alerts/${raised.id}/ack`, operator, { method: "POST" })).status).toBe(200);
      await waitFor(
        async () => {
          alerts.push(...(await drainQueue(channel, queue)).filter((g) => g.routingKey.startsWith("alerts.")));
          return alerts.some((a) => a.body.payload.state === "acknowledged") || undefined;
        },
        20_000,
        "alert acknowledged on RabbitMQ",
      );
      expect(alerts.map((a) => [a.routingKey, a.body.payload.state])).toEqual([
        ["alerts.alert-updated", "open"],
        ["alerts.alert-updated", "acknowledged"],
      ]);
    } finally {
      edge.close();
    }
  });

  it("loses and duplicates nothing when the broker restarts mid-stream", async (ctx) => {
    if (!available) return ctx.skip(why);
    const { exchange, queue } = await tap();
    const dir = mkdtempSync(join(tmpdir(), "bv-amqp-"));
    const db: Database = await openDatabase(dir, [{ name: "integration", migrations: integrationMigrations }]);
    const publisher = new ConfirmPublisher(URL, exchange, silentLogger());
    const outbox = new AmqpOutbox(db, publisher, silentLogger(), { pollMs: 100, batch: 20 });
    outbox.start();
    const total = 300;
    let restarted = false;
    try {
      for (let i = 0; i < total; i++) {
        outbox.record("edgeConnected", "fleet.edge-online", { n: i });
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
        if (i === 100) {
          await run("rabbitmqctl", ["stop_app"], { timeout: 60_000 });
          restarted = true;
        }
        if (i === 200) {
          // While the broker is down the events wait in the outbox.
          await waitFor(async () => (await outbox.pending()) > 0 || undefined, 30_000, "events waiting while the broker is down");
          await run("rabbitmqctl", ["start_app"], { timeout: 120_000 });
          await waitFor(portAnswers, 60_000, "RabbitMQ answering again");
        }
      }
      await waitFor(async () => (await outbox.pending()) === 0 || undefined, 60_000, "outbox empty (all confirmed)");
      const consumer = await amqp.connect(URL, { timeout: 5000 });
      try {
        const channel = await consumer.createChannel();
        const got = await drainQueue(channel, queue);
        const numbers = got.map((g) => g.body.payload.n as number);
        expect(new Set(numbers).size).toBe(total);
        expect(got).toHaveLength(total);
        expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
      } finally {
        await consumer.close();
      }
    } finally {
      if (restarted && !(await portAnswers())) await run("rabbitmqctl", ["start_app"], { timeout: 120_000 }).catch(() => undefined);
      await outbox.stop();
      await publisher.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
      // The test's own connection died with the broker: reopen it for the cleanup.
      conn = await amqp.connect(URL, { timeout: 5000 }).catch(() => undefined);
      conn?.on("error", () => undefined);
      ch = await conn?.createChannel();
    }
  }, 240_000);
});
