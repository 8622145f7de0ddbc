// One store-writer process for bench/scale-out.mjs: joins the consumer group, commits to the
// SQLite telemetry store in BENCH_DIR (or, given a VictoriaMetrics URL and a scope, to the
// line-protocol store), and prints its counts as JSON when told to stop (SIGTERM).
import { createInterface } from "node:readline";
import { silentLogger } from "@bitvelocity/common";
import { pino } from "pino";
import { KafkaStoreWriter } from "../cloud/dist/ingest/kafka-store-writer.js";
import { LinkRecords } from "../cloud/dist/ingest/link-records.js";
import { ingestMigrations } from "../cloud/dist/ingest/migrations.js";
import { openDatabase } from "../cloud/dist/platform/database.js";
import { EventBus } from "../cloud/dist/platform/event-bus.js";
import { createRegistry } from "../cloud/dist/platform/metrics.js";
import { InfluxTelemetryStore } from "../cloud/dist/telemetry/influx-store.js";
import { SqliteTelemetryStore } from "../cloud/dist/telemetry/sqlite-store.js";

const [brokers, topic, groupId, dir, edgeCount, vmUrl, scope] = process.argv.slice(2);
const store = vmUrl
  ? // BENCH_FORCE_FLUSH=1: the shipped default (force_flush after each write), else visible within VictoriaMetrics' flush interval.
    // BENCH_INFLUX_WRITES=N: HTTP writes in flight at once (the store's default otherwise).
    new InfluxTelemetryStore({
      url: vmUrl,
      org: "bv",
      bucket: "bench",
      scope,
      forceFlush: process.env.BENCH_FORCE_FLUSH === "1",
      ...(process.env.BENCH_INFLUX_WRITES ? { writesAtOnce: Number(process.env.BENCH_INFLUX_WRITES) } : {}),
    })
  : SqliteTelemetryStore.open(dir);
let first = 0;
let last = 0;
// Commits wait for "go" on stdin: the bench fills the topic first, so the group drains a backlog and the clock starts
// for every writer at once. CPU is counted from then.
let cpuAtGo;
const gate = new Promise((open) => {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line !== "go") return;
    cpuAtGo = process.cpuUsage();
    open();
  });
});
const cpuMs = () => {
  if (!cpuAtGo) return 0;
  const { user, system } = process.cpuUsage(cpuAtGo);
  return (user + system) / 1000;
};
const timed = {
  async commitBatch(edgeId, readings, meta) {
    await gate;
    const result = await store.commitBatch(edgeId, readings, meta);
    last = Date.now();
    if (first === 0) first = last;
    return result;
  },
};
const edges = Array.from({ length: Number(edgeCount) }, (_, i) => ({ id: `edge-${i + 1}`, siteId: "site-1", tokenHash: "x" }));
const writer = new KafkaStoreWriter({
  settings: { brokers: brokers.split(","), clientId: "bv-bench", telemetryTopic: topic, groupId, sessionTimeoutMs: 6000 },
  store: timed,
  bus: new EventBus(),
  edge: (id) => edges.find((e) => e.id === id),
  // One relational file per worker: concurrent SQLite migrations are not locked (PostgreSQL ones are).
  records: new LinkRecords(await openDatabase(dir, [{ name: "ingest", migrations: ingestMigrations }], `cloud-${process.pid}.db`)),
  registry: createRegistry(),
  // BENCH_DEBUG=1: the writer's (and kafkajs') log on stderr (stdout carries the counts to the bench).
  logger: process.env.BENCH_DEBUG ? pino({ name: `store-writer-${process.pid}`, level: "debug" }, pino.destination(2)) : silentLogger(),
  // BENCH_WRITER_BEFORE=1: the writer as it was (offset committed after every message, one partition at a time).
  ...(process.env.BENCH_WRITER_BEFORE ? { commitEvery: 1, partitionsAtOnce: 1 } : {}),
});
await writer.start();
await writer.joined;
setInterval(
  () => process.stdout.write(`${JSON.stringify({ ...writer.stats, first, last, cpuMs: cpuMs(), assignment: writer.assignment })}\n`),
  250,
);
process.on("SIGTERM", async () => {
  await writer.stop();
  // Closing writes what the store still holds for later (the SQLite store's rollup folds): timed, and counted by the bench.
  const closing = performance.now();
  await store.close();
  const closeMs = performance.now() - closing;
  process.stdout.write(`${JSON.stringify({ done: true, ...writer.stats, first, last, cpuMs: cpuMs(), closeMs })}\n`);
  process.exit(0);
});
