/**
 * Two cloud nodes (DESIGN.md §5): live fan-out and commands across nodes through the socket.io
 * Redis adapter, and the whole scale-out stack (PostgreSQL, Kafka ingest + store-writer group,
 * line-protocol telemetry on VictoriaMetrics, Redis) with an edge on one node and a browser on the other.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { kafkaCluster, postgres, redis, victoriaMetrics } from "@bitvelocity/common/test-services";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const redisService = await redis();
const skipRedis = redisService.available ? "" : ` (skipped: ${redisService.reason})`;
const sockets: Socket[] = [];
const links: EdgeLink[] = [];
const clouds: TestCloud[] = [];
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const l of links) l.close();
  for (const c of clouds) await c.close();
});

async function browser(t: TestCloud): Promise<{ socket: Socket; readings: { deviceId: string; seq: number }[] }> {
  const token = await t.login("victor");
  const socket = io(t.url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  const readings: { deviceId: string; seq: number }[] = [];
  socket.on("readings", (batch: { deviceId: string; seq: number }[]) => readings.push(...batch));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  expect(await socket.timeout(2000).emitWithAck("subscribe", { edge: "edge-1" })).toEqual({ ok: true });
  return { socket, readings };
}

async function edgeOn(t: TestCloud): Promise<EdgeLink> {
  const link = new EdgeLink(t.grpcAddress);
  links.push(link);
  link.hello("edge-1", undefined, [{ deviceId: "valve-1", deviceType: "valve-actuator" }]);
  await link.next("welcome");
  return link;
}

async function sendCommandOn(t: TestCloud): Promise<string> {
  const alice = await t.login("alice");
  const res = await t.api("/api/devices/valve-1/commands", alice, { method: "POST", body: JSON.stringify({ name: "open" }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { command: { id: string } }).command.id;
}

describe.skipIf(!redisService.available)(`two cloud nodes through Redis${skipRedis}`, () => {
  it("a browser on node A sees readings ingested on node B, and a command from A reaches the edge on B", async () => {
    const cluster = { "live.redis_url": redisService.available ? redisService.url : "", "live.redis_channel": `bv-test-${randomUUID()}` };
    const a = await startTestCloud(cluster);
    const b = await startTestCloud(cluster);
    clouds.push(a, b);
    const edge = await edgeOn(b);
    const viewer = await browser(a);
    edge.batch(1, [reading(1, "valve-1", { position: 10 }, { deviceType: "valve-actuator" })]);
    await edge.next("ack");
    await waitFor(() => viewer.readings.find((r) => r.seq === 1), 5000, "the reading on node A");
    // Node A learned the device from B's relayed handshake; its command goes to B's stream.
    const id = await sendCommandOn(a);
    const cmd = await edge.next("command", 5000);
    expect(cmd.command).toMatchObject({ commandId: id, deviceId: "valve-1", name: "open" });
    // The edge's result travels back to A, which owns the command row.
    edge.send({
      kind: {
        $case: "commandResult",
        commandResult: { commandId: id, deviceId: "valve-1", status: 3, message: "", resultJson: "", timeMs: Date.now() },
      },
    });
    const alice = await a.login("alice");
    await waitFor(
      async () =>
        ((await (await a.api(`/api/commands/${id}`, alice)).json()) as { command: { status: string } }).command.status === "succeeded" ||
        undefined,
      5000,
      "the result on node A",
    );
    // Exactly one copy of the command reached the edge.
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.inbox.filter((m) => m.kind?.$case === "command")).toHaveLength(0);
  }, 30_000);
});

const [kafka, vm, pgService] = await Promise.all([kafkaCluster(), victoriaMetrics(), postgres()]);
const all = redisService.available && kafka.available && vm.available && pgService.available;
const missing = [redisService, kafka, vm, pgService].filter((s) => !s.available).map((s) => (s.available ? "" : s.reason));

afterAll(async () => {
  if (kafka.available) await kafka.stop();
  if (vm.available) await vm.stop();
});

describe.skipIf(!all)(`the scale-out stack${all ? "" : ` (skipped: ${missing.join("; ")})`}`, () => {
  it("edge on node B → Kafka → store-writer → VictoriaMetrics; browser and history on node A; PostgreSQL shared", async () => {
    if (!(redisService.available && kafka.available && vm.available && pgService.available)) return;
    const schema = `bv_test_${randomBytes(6).toString("hex")}`;
    const overrides = {
      "database.engine": "postgres",
      "database.url": pgService.url,
      "database.schema": schema,
      "telemetry.engine": "influx",
      "telemetry.influx": { url: vm.url, org: "bv", bucket: "telemetry" },
      kafka: {
        brokers: kafka.brokers,
        telemetry_topic: `bv.telemetry.${randomUUID()}`,
        group_id: `bv-writers-${randomUUID()}`,
        session_timeout_ms: 6000,
      },
      "ingest.via": "kafka",
      "ingest.store_writer": true,
      bus: { engine: "kafka", events_topic: `bv.events.${randomUUID()}`, relay_poll_ms: 200 },
      "live.redis_url": redisService.url,
      "live.redis_channel": `bv-test-${randomUUID()}`,
    };
    try {
      const a = await startTestCloud(overrides);
      clouds.push(a);
      const b = await startTestCloud(overrides);
      clouds.push(b);
      const edge = await edgeOn(b);
      const viewer = await browser(a);
      const now = Date.now();
      edge.batch(
        1,
        [1, 2, 3].map((seq) =>
          reading(seq, "valve-1", { position: seq * 10, state: "open" }, { deviceType: "valve-actuator", edgeTimeMs: now + seq }),
        ),
      );
      expect((await edge.next("ack", 10_000)).ack.seqs).toEqual([1, 2, 3]);
      // The same batch again (a replay after a lost Ack): acked, stored once.
      edge.batch(
        2,
        [1, 2, 3].map((seq) =>
          reading(seq, "valve-1", { position: seq * 10, state: "open" }, { deviceType: "valve-actuator", edgeTimeMs: now + seq }),
        ),
      );
      await edge.next("ack", 10_000);
      await waitFor(() => (viewer.readings.length >= 3 ? true : undefined), 20_000, "readings on node A");
      const victor = await a.login("victor");
      const history = await waitFor(
        async () => {
          const res = await a.api(`/api/devices/valve-1/readings?from=${now - 1000}`, victor);
          const body = (await res.json()) as { readings: { seq: number; values: Record<string, unknown> }[] };
          return body.readings.length >= 3 ? body.readings : undefined;
        },
        10_000,
        "history on node A",
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(history.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(history[2]?.values).toEqual({ position: 30, state: "open" });
      expect(viewer.readings.map((r) => r.seq).sort()).toEqual([1, 2, 3]);
      // Users and sessions live in the shared PostgreSQL: a token from B works on A.
      const fromB = await b.login("alice");
      expect((await a.api("/api/devices/valve-1/commands", fromB)).status).toBe(200);
      // A command created on A travels as an outbox event over Kafka to B, which holds the edge's stream.
      // Both nodes' relays poll the shared outbox; the edge still gets it once.
      const id = await sendCommandOn(a);
      expect((await edge.next("command", 10_000)).command.commandId).toBe(id);
      await new Promise((r) => setTimeout(r, 1000));
      expect(edge.inbox.filter((m) => m.kind?.$case === "command")).toHaveLength(0);
    } finally {
      const client = new pg.Client({ connectionString: pgService.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }, 90_000);
});
