// GraphQL and AMQP (issue 15): an in-process cloud on SQLite with 1,000 devices on one edge (learned
// from an EdgeSync Hello over real gRPC); BENCH_GQL_QUERIES fleet queries (default 200) over HTTP,
// each the whole fleet in two pages of 500 with latest values and active alerts; then
// BENCH_AMQP_EVENTS events (default 5000) through the AMQP outbox to the local RabbitMQ with
// publisher confirms; and BENCH_GQL_SUBSCRIBERS graphql-ws clients (default 100) subscribed to the live
// readings of 10 devices while the edge sends one reading per device every 50 ms for
// BENCH_GQL_SUB_SECONDS (default 10): send → delivered p50/p99 on one clock.
// Writes the "GraphQL and AMQP" section of bench/RESULTS.md.
//
//   node bench/graphql-amqp.mjs        (after npm run build; RabbitMQ on 127.0.0.1:5672)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { EdgeSyncClient } from "@bitvelocity/proto";
import { credentials } from "@grpc/grpc-js";
import amqp from "amqplib";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { AmqpOutbox } from "../cloud/dist/integration/amqp/amqp-outbox.js";
import { ConfirmPublisher } from "../cloud/dist/integration/amqp/confirm-publisher.js";
import { integrationMigrations } from "../cloud/dist/integration/migrations.js";
import { startCloud } from "../cloud/dist/main.js";
import { loadCloudConfig } from "../cloud/dist/platform/config.js";
import { openDatabase } from "../cloud/dist/platform/database.js";
import { machine, percentile, replaceSection, resultsFile } from "./lib.mjs";

const QUERIES = Number(process.env.BENCH_GQL_QUERIES ?? 200);
const EVENTS = Number(process.env.BENCH_AMQP_EVENTS ?? 5000);
const SUBSCRIBERS = Number(process.env.BENCH_GQL_SUBSCRIBERS ?? 100);
const SUB_SECONDS = Number(process.env.BENCH_GQL_SUB_SECONDS ?? 10);
const LIVE_DEVICES = 10;
const DEVICES = 1000;
const load = loadavg()[0].toFixed(1);
const TOKEN = "bench-edge-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "bv-bench-gql-"));

const config = loadCloudConfig(
  undefined,
  {},
  {
    data_dir: dir,
    "http.host": "127.0.0.1",
    "http.port": 0,
    "http.insecure": true,
    "grpc.host": "127.0.0.1",
    "grpc.port": 0,
    "grpc.insecure": true,
    sites: [{ id: "site-1", name: "Plant 1" }],
    edges: [{ id: "edge-1", site_id: "site-1", token_hash: hashSecret(TOKEN) }],
    "admin.password": "bench-admin-password",
  },
);
const cloud = await startCloud(config, { logger: silentLogger(), processMetrics: false });
const base = `http://127.0.0.1:${cloud.ports.http}`;
const client = new EdgeSyncClient(`127.0.0.1:${cloud.ports.grpc}`, credentials.createInsecure());
const call = client.sync();
call.on("error", () => undefined);
let credit = 0;
const welcomed = new Promise((resolve) =>
  call.on("data", (m) => {
    if (m.kind?.$case === "welcome") {
      credit += m.kind.welcome.credit;
      resolve();
    }
    if (m.kind?.$case === "credit") credit += m.kind.credit.batches;
  }),
);
call.write({
  kind: {
    $case: "hello",
    hello: {
      edgeId: "edge-1",
      token: TOKEN,
      siteId: "",
      bootId: "b",
      agentVersion: "bench",
      wallTimeMs: Date.now(),
      clockSync: 1,
      uptimeMs: 1,
      configVersion: 0,
      arch: "amd64",
      devices: Array.from({ length: DEVICES }, (_, i) => ({
        deviceId: `env-${i}`,
        deviceType: "env-sensor",
        name: `env-${i}`,
        online: true,
        lastSeenMs: 0,
      })),
    },
  },
});
await welcomed;
const login = await fetch(`${base}/api/auth/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "admin", password: "bench-admin-password" }),
});
const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
for (;;) {
  const n = (await (await fetch(`${base}/api/devices`, { headers: { cookie } })).json()).devices.length;
  if (n === DEVICES) break;
  await new Promise((r) => setTimeout(r, 100));
}
const query = `query($after: ID) { devices(first: 500, after: $after) { endCursor hasNextPage nodes { id online latest { metric value ts } activeAlerts { id } } } }`;
const times = [];
for (let q = 0; q < QUERIES; q++) {
  const t0 = performance.now();
  let after = null;
  let seen = 0;
  for (;;) {
    const res = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ query, variables: { after } }),
    });
    const page = (await res.json()).data.devices;
    seen += page.nodes.length;
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  if (seen !== DEVICES) throw new Error(`saw ${seen} devices`);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);

// Live readings to graphql-ws subscribers: SUBSCRIBERS clients, each on one of LIVE_DEVICES devices.
const session = decodeURIComponent(cookie.split("=")[1] ?? "");
const wsUrl = `${base.replace("http", "ws")}/graphql`;
const sentAt = new Map();
const delivered = [];
const clients = [];
let subscribed = 0;
for (let c = 0; c < SUBSCRIBERS; c++) {
  const ws = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${session}` },
    retryAttempts: 0,
  });
  clients.push(ws);
  const deviceId = `env-${c % LIVE_DEVICES}`;
  ws.subscribe(
    { query: `subscription { deviceReadings(deviceId: "${deviceId}") { seq } }` },
    {
      next: (msg) => {
        const seq = msg.data?.deviceReadings.seq;
        const t = sentAt.get(seq);
        if (t !== undefined) delivered.push(Date.now() - t);
      },
      error: (err) => process.stderr.write(`subscriber: ${JSON.stringify(err)}\n`),
      complete: () => undefined,
    },
  );
  ws.on("connected", () => subscribed++);
}
while (subscribed < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 500)); // the subscriptions registered after the connection acks
const num = (v) => ({ kind: { $case: "number", number: v } });
let liveSeq = 1_000_000;
let batchId = 0;
let sent = 0;
let skipped = 0;
const liveUntil = Date.now() + SUB_SECONDS * 1000;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
while (Date.now() < liveUntil) {
  if (credit <= 0) skipped++;
  else {
    credit--;
    const now = Date.now();
    const readings = [];
    for (let d = 0; d < LIVE_DEVICES; d++) {
      liveSeq++;
      sentAt.set(liveSeq, now);
      readings.push({
        seq: liveSeq,
        deviceId: `env-${d}`,
        deviceType: "env-sensor",
        values: { temperature: num(20 + (liveSeq % 50) / 10) },
        edgeTimeMs: now,
        bootId: "b",
        uptimeMs: now,
        clockSynced: true,
      });
    }
    sent += readings.length;
    call.write({ kind: { $case: "batch", batch: { batchId: ++batchId, lane: 3, readings, replay: false } } });
  }
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 1000));
const liveCpu = process.cpuUsage(cpu0);
const liveWallMs = performance.now() - wall0;
for (const ws of clients) await ws.dispose();
delivered.sort((a, b) => a - b);
const expectedDeliveries = (sent / LIVE_DEVICES) * SUBSCRIBERS;
call.cancel();
client.close();
await cloud.stop();

// AMQP: the outbox on SQLite, confirms from the local broker; once per relay depth (confirm
// batches in flight at once), each with a fresh outbox database and queue.
// BENCH_AMQP_RUNS: "batch x depth" pairs (rows per confirm batch, batches in flight at once).
const RUNS = (process.env.BENCH_AMQP_RUNS ?? "200x2,1000x1,1000x2,1000x4").split(",").map((r) => {
  const [batch, depth] = r.split("x").map(Number);
  return { batch, depth };
});
// RabbitMQ's CPU over each AMQP run (its beam.smp process, from /proc; 0 when not on this machine).
const beamPid = (() => {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("beam.smp")) return pid;
    } catch {}
  }
  return undefined;
})();
const beamTicks = () => {
  if (!beamPid) return 0;
  const fields = readFileSync(`/proc/${beamPid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
const cores = (ticks, ms) => (beamPid ? `${((ticks * 10) / ms).toFixed(2)} cores` : "not measured");
// The broker's own ceiling in the same run: the same number of persistent messages published
// on one confirm channel all at once, without an outbox.
const rawCeiling = await (async () => {
  const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
  const ch = await conn.createConfirmChannel();
  const exchange = `bv.bench.${process.pid}.raw`;
  await ch.assertExchange(exchange, "topic", { durable: true });
  const queue = `${exchange}.all`;
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, "#");
  const t0 = performance.now();
  const b0 = beamTicks();
  const confirms = [];
  for (let i = 0; i < EVENTS; i++) {
    const body = Buffer.from(JSON.stringify({ id: `raw-${i}`, event: "edgeConnected", at: Date.now(), payload: { n: i } }));
    confirms.push(
      new Promise((resolve, reject) =>
        ch.publish(exchange, "fleet.edge-online", body, { persistent: true, messageId: `raw-${i}` }, (err) =>
          err ? reject(err) : resolve(),
        ),
      ),
    );
  }
  await Promise.all(confirms);
  const ms = performance.now() - t0;
  const beam = beamTicks() - b0;
  await ch.deleteQueue(queue);
  await ch.deleteExchange(exchange);
  await conn.close();
  return { ms, beam };
})();
const amqpRuns = [];
for (const { batch, depth } of RUNS) {
  const exchange = `bv.bench.${process.pid}.${batch}x${depth}`;
  const db = await openDatabase(dir, [{ name: "integration", migrations: integrationMigrations }], `amqp-${batch}x${depth}.db`);
  const publisher = new ConfirmPublisher("amqp://guest:guest@127.0.0.1:5672", exchange, silentLogger());
  const outbox = new AmqpOutbox(db, publisher, silentLogger(), { pollMs: 100, inFlight: depth, batch });
  const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, "topic", { durable: true });
  const queue = `${exchange}.all`;
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, "#");
  outbox.start();
  const a0 = performance.now();
  const b0 = beamTicks();
  const c0 = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) outbox.record("edgeConnected", "fleet.edge-online", { n: i });
  while ((await outbox.pending()) > 0 || (await ch.checkQueue(queue)).messageCount < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const ms = performance.now() - a0;
  const beam = beamTicks() - b0;
  const cpu = process.cpuUsage(c0);
  const inQueue = (await ch.checkQueue(queue)).messageCount;
  amqpRuns.push({ batch, depth, ms, inQueue, beam, node: (cpu.user + cpu.system) / 1000 });
  await outbox.stop();
  await publisher.close();
  await ch.deleteQueue(queue);
  await ch.deleteExchange(exchange);
  await conn.close();
  await db.destroy();
}
rmSync(dir, { recursive: true, force: true });

const f = (ms) => `${ms.toFixed(1)} ms`;
const body = `
Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · Load average at start: ${load} (2 cores shared with other work)
Command: \`BENCH_GQL_QUERIES=${QUERIES} BENCH_GQL_SUBSCRIBERS=${SUBSCRIBERS} BENCH_GQL_SUB_SECONDS=${SUB_SECONDS} BENCH_AMQP_EVENTS=${EVENTS} BENCH_AMQP_RUNS=${RUNS.map((r) => `${r.batch}x${r.depth}`).join(",")} node bench/graphql-amqp.mjs\` (cloud in-process on SQLite; RabbitMQ 127.0.0.1:5672)

| figure | value |
|---|---|
| GraphQL fleet query, 1,000 devices in two pages of 500 (latest values + active alerts), p50 / p99 (n=${QUERIES}) | **${f(percentile(times, 50))} / ${f(percentile(times, 99))}** |
| live readings to ${SUBSCRIBERS} graphql-ws subscribers (${LIVE_DEVICES} devices, ${SUBSCRIBERS / LIVE_DEVICES} each; one reading per device per 50 ms for ${SUB_SECONDS} s), send → delivered p50 / p99 / max | **${f(percentile(delivered, 50))} / ${f(percentile(delivered, 99))}** / ${f(delivered.at(-1) ?? 0)} (${delivered.length} of ${expectedDeliveries} deliveries${skipped ? `, ${skipped} ticks without credit` : ""}; whole process ${((liveCpu.user + liveCpu.system) / 10 / liveWallMs).toFixed(0)} % of a core) |
| RabbitMQ's ceiling in the same run: ${EVENTS} persistent messages on one confirm channel, all in flight, no outbox | **${Math.round((EVENTS / rawCeiling.ms) * 1000)} messages/s** (RabbitMQ ${cores(rawCeiling.beam, rawCeiling.ms)}) |
${amqpRuns.map((r) => `| events through the AMQP outbox with publisher confirms (record → confirmed and in the queue), ${r.depth} confirm batch${r.depth > 1 ? "es" : ""} of ${r.batch} in flight${r.batch === 1000 && r.depth === 2 ? " (the default)" : ""} | **${Math.round((EVENTS / r.ms) * 1000)} events/s** (${EVENTS} in ${f(r.ms)}; ${r.inQueue} in the queue; RabbitMQ ${cores(r.beam, r.ms)}, this process ${((r.node / r.ms) * 1).toFixed(2)} cores) |`).join("\n")}

The GraphQL figure is two HTTP requests per fleet read (each one alert-store query, DataLoader); the AMQP figure
includes the SQLite outbox write, the confirmed publish and the mark. RabbitMQ's CPU is its beam.smp process over the
run (/proc): one durable queue is one Erlang process, so at about one core the broker itself is the ceiling. The subscribers, the cloud and
the edge's gRPC stream share one process: a delivery is timed from the batch's write to the subscriber's message.
`;
writeFileSync(resultsFile(), replaceSection(readFileSync(resultsFile(), "utf8"), "GraphQL and AMQP", body));
console.log(body);
process.exit(0);
