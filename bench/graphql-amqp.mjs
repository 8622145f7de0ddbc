// GraphQL and AMQP (issue 15): an in-process cloud on SQLite with 1,000 devices on one edge (learned
// from an EdgeSync Hello over real gRPC); BENCH_GQL_QUERIES fleet queries (default 200) over HTTP,
// each the whole fleet in two pages of 500 with latest values and active alerts; then
// BENCH_AMQP_EVENTS events (default 5000) through the AMQP outbox to the local RabbitMQ with
// publisher confirms. Writes the "GraphQL and AMQP" section of bench/RESULTS.md.
//
//   node bench/graphql-amqp.mjs        (after npm run build; RabbitMQ on 127.0.0.1:5672)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { EdgeSyncClient } from "@bitvelocity/proto";
import { credentials } from "@grpc/grpc-js";
import amqp from "amqplib";
import { AmqpOutbox } from "../cloud/dist/integration/amqp/amqp-outbox.js";
import { ConfirmPublisher } from "../cloud/dist/integration/amqp/confirm-publisher.js";
import { integrationMigrations } from "../cloud/dist/integration/migrations.js";
import { startCloud } from "../cloud/dist/main.js";
import { loadCloudConfig } from "../cloud/dist/platform/config.js";
import { openDatabase } from "../cloud/dist/platform/database.js";
import { machine, percentile, replaceSection, resultsFile } from "./lib.mjs";

const QUERIES = Number(process.env.BENCH_GQL_QUERIES ?? 200);
const EVENTS = Number(process.env.BENCH_AMQP_EVENTS ?? 5000);
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
    "grpc.host": "127.0.0.1",
    "grpc.port": 0,
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
const welcomed = new Promise((resolve) => call.on("data", (m) => m.kind?.$case === "welcome" && resolve()));
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
call.cancel();
client.close();
await cloud.stop();

// AMQP: the outbox on SQLite, confirms from the local broker.
const exchange = `bv.bench.${process.pid}`;
const db = await openDatabase(dir, [{ name: "integration", migrations: integrationMigrations }], "amqp.db");
const publisher = new ConfirmPublisher("amqp://guest:guest@127.0.0.1:5672", exchange, silentLogger());
const outbox = new AmqpOutbox(db, publisher, silentLogger(), { pollMs: 100 });
const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
const ch = await conn.createChannel();
await ch.assertExchange(exchange, "topic", { durable: true });
const queue = `${exchange}.all`;
await ch.assertQueue(queue, { durable: true });
await ch.bindQueue(queue, exchange, "#");
outbox.start();
const a0 = performance.now();
for (let i = 0; i < EVENTS; i++) outbox.record("edgeConnected", "fleet.edge-online", { n: i });
while ((await outbox.pending()) > 0 || (await ch.checkQueue(queue)).messageCount < EVENTS) await new Promise((r) => setTimeout(r, 20));
const amqpMs = performance.now() - a0;
await outbox.stop();
await publisher.close();
await ch.deleteQueue(queue);
await ch.deleteExchange(exchange);
await conn.close();
await db.destroy();
rmSync(dir, { recursive: true, force: true });

const f = (ms) => `${ms.toFixed(1)} ms`;
const body = `
Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · Load average at start: ${load} (2 cores shared with other work)
Command: \`BENCH_GQL_QUERIES=${QUERIES} BENCH_AMQP_EVENTS=${EVENTS} node bench/graphql-amqp.mjs\` (cloud in-process on SQLite; RabbitMQ 127.0.0.1:5672)

| figure | value |
|---|---|
| GraphQL fleet query, 1,000 devices in two pages of 500 (latest values + active alerts), p50 / p99 (n=${QUERIES}) | **${f(percentile(times, 50))} / ${f(percentile(times, 99))}** |
| events through the AMQP outbox with publisher confirms (record → confirmed and in the queue) | **${Math.round((EVENTS / amqpMs) * 1000)} events/s** (${EVENTS} in ${f(amqpMs)}) |

The GraphQL figure is two HTTP requests per fleet read (each one alert-store query, DataLoader); the AMQP figure
includes the SQLite outbox write, the confirmed publish in batches of 200 and the mark.
`;
writeFileSync(resultsFile(), replaceSection(readFileSync(resultsFile(), "utf8"), "GraphQL and AMQP", body));
console.log(body);
process.exit(0);
