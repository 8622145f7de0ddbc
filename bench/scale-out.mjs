// `node bench/scale-out.mjs` (after `npm run build`): the scale-out engines side by side in one run,
// written to bench/RESULTS.md (section "Scale-out engines"):
// - telemetry store commits: SQLite (the default) vs the InfluxDB line protocol on VictoriaMetrics;
// - the Kafka path: gRPC-ingest publisher → topic (acks=all), then the store-writer group with 1 and
//   with 2 consumer processes, readings/s in total and per process.
// Needs kcat and victoria-metrics (or BV_KAFKA_BROKERS / BV_VM_URL). Knobs: BENCH_READINGS (default 100000),
// BENCH_BATCH (readings per batch, default 500), BENCH_FORCE_FLUSH=1 (the store-writers on VictoriaMetrics force_flush each write,
// the shipped default; otherwise they leave it to its flush interval), BENCH_CPU_PROF=DIR (each store-writer's CPU profile).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { silentLogger } from "@bitvelocity/common";
import { kafkaCluster, victoriaMetrics } from "@bitvelocity/common/test-services";
import { KafkaTelemetryPublisher } from "../cloud/dist/ingest/kafka-publisher.js";
import { InfluxTelemetryStore } from "../cloud/dist/telemetry/influx-store.js";
import { SqliteTelemetryStore } from "../cloud/dist/telemetry/sqlite-store.js";
import { CLOUD_NODE_ARGS } from "../scripts/system.mjs";
import { replaceSection, resultsFile } from "./lib.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const N = Number(process.env.BENCH_READINGS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
// Edge ids are the Kafka keys (kafkajs' murmur2 over the topic's 4 partitions): edge-1…edge-16 land 2/7/2/5, so two
// writers got a quarter and three quarters of the work; edge-1…edge-32 land 9/8/8/7.
const EDGES = Number(process.env.BENCH_EDGES ?? 32);
// BENCH_STEPS: which measurements to run (default all): sqlite, influx, kafka-sqlite, kafka-vm.
const STEPS = new Set((process.env.BENCH_STEPS ?? "sqlite,influx,kafka-sqlite,kafka-vm").split(","));
const T0 = Date.UTC(2025, 0, 1);

/** N readings as batches per edge: env-sensor, three numeric metrics, 1 s apart per device. */
function* batches() {
  const perEdge = Math.ceil(N / EDGES);
  for (let start = 0; start < perEdge; start += BATCH) {
    for (let e = 1; e <= EDGES; e++) {
      const readings = [];
      for (let i = start; i < Math.min(perEdge, start + BATCH); i++) {
        readings.push({
          seq: i + 1,
          deviceId: `env-${e}-${i % 50}`,
          deviceType: "env-sensor",
          values: { temperature: 20 + (i % 7), humidity: 40 + (i % 5), co2: 400 + (i % 100) },
          edgeTimeMs: T0 + i * 1000,
        });
      }
      yield { edgeId: `edge-${e}`, readings };
    }
  }
}

/**
 * Readings/s of sequential commits; `count` says what a commit contributed (inserted rows by default);
 * `finish` runs inside the timed interval (the SQLite store is closed there: it writes its pending rollup folds).
 */
async function storeRate(store, count = (result) => result.inserted, finish = async () => {}) {
  const t = performance.now();
  let n = 0;
  for (const b of batches()) n += count(await store.commitBatch(b.edgeId, b.readings), b.readings);
  await finish();
  const s = (performance.now() - t) / 1000;
  return { n, rate: Math.round(n / s) };
}

function worker(brokers, topic, groupId, dir, vm) {
  const child = spawn(
    process.execPath,
    // The cloud's V8 flags (scripts/system.mjs): the store-writer runs inside bv-cloud.
    [
      ...CLOUD_NODE_ARGS,
      // BENCH_CPU_PROF=DIR: each store-writer writes a CPU profile there (`node bench/profile-top.mjs FILE`).
      ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      join(ROOT, "bench/store-writer-worker.mjs"),
      brokers.join(","),
      topic,
      groupId,
      dir,
      String(EDGES),
      ...(vm ? [vm.url, vm.scope] : []),
    ],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const state = { child, latest: { inserted: 0, first: 0, last: 0, assignment: [] }, done: undefined };
  state.done = new Promise((resolveDone) => {
    state.resolveDone = resolveDone;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const msg = JSON.parse(line);
      if (msg.done) resolveDone(msg);
      else state.latest = msg;
    });
  });
  return state;
}

/** Starts the group, waits until its members split the 4 partitions, then publishes N readings and times the commits. */
async function kafkaRun(brokers, consumers, vm) {
  const topic = `bv.bench.${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), "bv-bench-kafka-"));
  const groupId = `bench-${randomUUID()}`;
  // The shared SQLite file is created (schema, WAL mode) before the writers start, so they do not race to set it up.
  if (!vm) await SqliteTelemetryStore.open(dir).close();
  const workers = Array.from({ length: consumers }, () => worker(brokers, topic, groupId, dir, vm));
  const split = Date.now() + 120_000;
  while (Date.now() < split) {
    const sizes = workers.map((w) => w.latest.assignment.length);
    if (sizes.every((n) => n > 0) && sizes.reduce((a, b) => a + b, 0) === 4) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // The topic is filled first while the writers hold their first commit; then they all start on the backlog at once.
  const published = await publishAll(brokers, topic);
  const peers = engineTicks();
  const goAt = Date.now();
  for (const w of workers) w.child.stdin.write("go\n");
  const deadline = Date.now() + 300_000;
  const progress = { inserted: 0, at: Date.now() };
  for (let i = 0; Date.now() < deadline; i++) {
    const inserted = workers.reduce((n, w) => n + w.latest.inserted, 0);
    if (inserted >= N) break;
    if (inserted !== progress.inserted) Object.assign(progress, { inserted, at: Date.now() });
    // BENCH_DEBUG=1: each writer's progress every 2 s (a run that stops short shows where).
    if (process.env.BENCH_DEBUG && i % 10 === 0)
      process.stderr.write(`published ${published.n}; ${workers.map((w) => JSON.stringify(w.latest)).join(" / ")}\n`);
    // The Kafka mock keeps about 5 MB per partition and deletes older segments: a backlog beyond that (about
    // 200,000 readings of this workload) is partly gone before the writers read it, and they wait for it forever.
    if (inserted > 0 && Date.now() - progress.at > 15_000) {
      process.stderr.write(
        `store-writers stalled at ${inserted} of ${N} readings for 15 s (a backlog beyond the Kafka mock's retention?)\n`,
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const lastCommit = Math.max(...workers.map((w) => w.latest.last));
  const peerTicks = engineTicks();
  // A worker that died without its last line still counts what it reported; one that does not stop within 10 s of
  // SIGTERM is killed (and named, so a stuck writer shows in the output instead of hanging the run).
  for (const w of workers) {
    const settle = () => setTimeout(() => w.resolveDone?.({ ...w.latest, done: true }), 1000);
    if (w.child.exitCode !== null || w.child.signalCode !== null) settle();
    else w.child.once("exit", settle);
    w.child.kill("SIGTERM");
    setTimeout(() => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      process.stderr.write(`store-writer ${w.child.pid} did not stop within 10 s of SIGTERM: killed (${JSON.stringify(w.latest)})\n`);
      w.child.kill("SIGKILL");
    }, 10_000).unref();
  }
  const done = await Promise.all(workers.map((w) => w.done));
  rmSync(dir, { recursive: true, force: true });
  // Until the last commit, plus the longest close (the SQLite store writes its pending rollup folds there).
  const drainMs = lastCommit - goAt + Math.max(...done.map((d) => d.closeMs ?? 0));
  const inserted = done.reduce((n, d) => n + d.inserted, 0);
  const total = Math.round(inserted / (drainMs / 1000));
  // The line-protocol store reports every reading it wrote as inserted: count what VictoriaMetrics holds.
  const stored = vm ? await vmCount(vm) : inserted;
  const cores = (ms) => (ms / drainMs).toFixed(2);
  return {
    inserted,
    stored,
    total,
    perProcess: done.map((d) => d.inserted),
    perProcessRate: Math.round(total / consumers),
    published,
    // CPU over the drain, in cores: each writer process, VictoriaMetrics and the Kafka mock (from /proc, this machine).
    writerCores: done.map((d) => cores(d.cpuMs ?? 0)).join(" + "),
    vmCores: cores((peerTicks.vm - peers.vm) * 10),
    kafkaCores: cores((peerTicks.kafka - peers.kafka) * 10),
  };
}

/** CPU ticks (1/100 s) used so far by the VictoriaMetrics and kcat processes on this machine, from /proc. */
function engineTicks() {
  const sums = { vm: 0, kafka: 0 };
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const which = cmd.startsWith("victoria-metrics") || cmd.includes("/victoria-metrics") ? "vm" : cmd.startsWith("kcat") ? "kafka" : "";
      if (!which) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      sums[which] += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return sums;
}

/** Distinct readings in a scope: one `bv_seq` sample per reading after VictoriaMetrics' de-duplication. */
async function vmCount(vm) {
  const query = `sum(count_over_time(bv_seq{scope=${JSON.stringify(vm.scope)}}[10y]))`;
  // Points written just now can take a moment to show in queries even after force_flush (seen: 62,000 of 100,000
  // at once, all of them seconds later): asked again until the count is N or has not changed for a second.
  let count = -1;
  for (let tries = 0; tries < 20; tries++) {
    await fetch(`${vm.url}/internal/force_flush`);
    const res = await fetch(
      `${vm.url}/api/v1/query?${new URLSearchParams({ query, time: String(T0 / 1000 + 5 * 365 * 86400), nocache: "1" })}`,
    );
    const body = await res.json();
    const now = Number(body.data?.result?.[0]?.value?.[1] ?? 0);
    if (now >= N || (now === count && tries >= 4)) return now;
    count = now;
    await new Promise((r) => setTimeout(r, 250));
  }
  return count;
}

/** Publishes the workload as the gRPC ingest does (one producer, acks=all); the publisher stores nothing, so count what Kafka acked. */
async function publishAll(brokers, topic) {
  const publisher = new KafkaTelemetryPublisher(
    { brokers, clientId: "bv-bench", telemetryTopic: topic, groupId: "unused", sessionTimeoutMs: 6000 },
    silentLogger(),
  );
  const rate = await storeRate(publisher, (_result, readings) => readings.length);
  await publisher.stop();
  return rate;
}

async function main() {
  const [kafka, vm] = await Promise.all([kafkaCluster(), victoriaMetrics()]);
  if (!kafka.available || !vm.available) throw new Error("bench/scale-out.mjs needs kcat and victoria-metrics");
  const load = loadavg()[0].toFixed(2);
  const sqliteDir = mkdtempSync(join(tmpdir(), "bv-bench-sqlite-"));
  const step = (what, value) => process.stderr.write(`${what}: ${JSON.stringify(value)}\n`);
  const skipped = { rate: "not run", n: 0 };
  const notRun = { total: "not run", perProcess: [], perProcessRate: "—", inserted: "—", stored: "—", published: skipped };
  const sqliteStore = STEPS.has("sqlite") ? SqliteTelemetryStore.open(sqliteDir) : undefined;
  const sqlite = sqliteStore ? await storeRate(sqliteStore, undefined, () => sqliteStore.close()) : skipped;
  step("sqlite", sqlite);
  rmSync(sqliteDir, { recursive: true, force: true });
  // A second copy of the line-protocol store's module (e.g. the previous version's build) to compare in the same sitting.
  const Before = process.env.BENCH_INFLUX_BEFORE ? (await import(process.env.BENCH_INFLUX_BEFORE)).InfluxTelemetryStore : undefined;
  const before = Before ? await storeRate(new Before({ url: vm.url, org: "bv", bucket: "bench", scope: randomUUID() })) : undefined;
  const influxScope = randomUUID();
  const doInflux = STEPS.has("influx");
  const influx = doInflux
    ? await storeRate(new InfluxTelemetryStore({ url: vm.url, org: "bv", bucket: "bench", scope: influxScope }))
    : skipped;
  const influxNoFlush = doInflux
    ? await storeRate(new InfluxTelemetryStore({ url: vm.url, org: "bv", bucket: "bench", scope: randomUUID(), forceFlush: false }))
    : skipped;
  const influxStored = doInflux ? await vmCount({ url: vm.url, scope: influxScope }) : "—";
  step("influx", { before, influx, influxNoFlush, influxStored });
  const one = STEPS.has("kafka-sqlite") ? await kafkaRun(kafka.brokers, 1) : notRun;
  step("one", one);
  const two = STEPS.has("kafka-sqlite") ? await kafkaRun(kafka.brokers, 2) : notRun;
  step("two", two);
  const oneVm = STEPS.has("kafka-vm") ? await kafkaRun(kafka.brokers, 1, { url: vm.url, scope: randomUUID() }) : notRun;
  step("oneVm", oneVm);
  const twoVm = STEPS.has("kafka-vm") ? await kafkaRun(kafka.brokers, 2, { url: vm.url, scope: randomUUID() }) : notRun;
  step("twoVm", twoVm);
  const published = STEPS.has("kafka-sqlite") ? one.published : oneVm.published;
  await kafka.stop();
  await vm.stop();

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const body = `
Date: ${date} · Machine: ${machine} · load average at start: ${load} (a shared machine: figures are indicative; the lead may re-run)
Command: \`npm run build && BENCH_READINGS=${N} BENCH_BATCH=${BATCH} BENCH_EDGES=${EDGES} BENCH_STEPS=${[...STEPS].join(",")} node bench/scale-out.mjs\` (one run, everything on loopback; Kafka is
kcat's librdkafka mock cluster with 3 brokers, VictoriaMetrics is the Debian package, single node)

Workload: ${N} env-sensor readings (3 numeric metrics each) from ${EDGES} edges, committed in batches of ${BATCH}, each batch
awaited before the next (the way one EdgeSync stream commits).

| path | figure |
|---|---|
| telemetry store, SQLite (default): commitBatch, until the store is closed (its rollup folds written) | **${sqlite.rate} readings/s** |
${before ? `| telemetry store, line protocol → VictoriaMetrics, before (dedup query + write + force_flush) | **${before.rate} readings/s** |\n` : ""}| telemetry store, line protocol → VictoriaMetrics: commitBatch (write + force_flush, no dedup query) | **${influx.rate} readings/s** = ${influx.rate} points/s (one line-protocol point of 6 fields per reading); ${influxStored} distinct readings stored |
| telemetry store, line protocol → VictoriaMetrics: commitBatch (write only, force_flush: false) | **${influxNoFlush.rate} readings/s** |
| gRPC-ingest publisher → Kafka (acks=all), one producer | **${published.rate} readings/s** |
| store-writer group, 1 consumer process → SQLite | **${one.total} readings/s** (per process ${one.perProcessRate}; CPU: writer ${one.writerCores ?? "—"} cores, Kafka mock ${one.kafkaCores ?? "—"}) |
| store-writer group, 2 consumer processes → one SQLite file | **${two.total} readings/s** in total, ${two.perProcessRate} per process (split ${two.perProcess.join(" / ")}; CPU: writers ${two.writerCores ?? "—"} cores, Kafka mock ${two.kafkaCores ?? "—"}) |
| store-writer group, 1 consumer process → VictoriaMetrics | **${oneVm.total} readings/s** (${oneVm.stored} distinct readings stored; CPU: writer ${oneVm.writerCores ?? "—"} cores, VictoriaMetrics ${oneVm.vmCores ?? "—"}, Kafka mock ${oneVm.kafkaCores ?? "—"}) |
| store-writer group, 2 consumer processes → VictoriaMetrics | **${twoVm.total} readings/s** in total = ${typeof twoVm.total === "number" ? (twoVm.total / oneVm.total).toFixed(2) : "—"}× one (split ${twoVm.perProcess.join(" / ")}; ${twoVm.stored} distinct readings stored; CPU: writers ${twoVm.writerCores ?? "—"} cores, VictoriaMetrics ${twoVm.vmCores ?? "—"}, Kafka mock ${twoVm.kafkaCores ?? "—"}) |

How: store rates are readings inserted ÷ wall time of the sequential commits. For the Kafka path the group first
joins and splits the topic's 4 partitions, then the whole workload is published (the publisher row is that step)
while each writer holds its first commit; then all writers start at once on that backlog, and the group's rate is
readings inserted ÷ (last commit − start), so neither the group join nor the publisher's CPU is counted. CPU figures
are over the same interval, in cores of this 2-core machine (writers from process.cpuUsage, the engines from /proc). Each writer consumes its partitions concurrently and commits offsets every 50 messages or
1 s (BENCH_WRITER_BEFORE=1 gives the earlier writer: offset committed after every message, one partition at a time).
Edge ids are the Kafka keys: ${EDGES} edges spread over the 4 partitions as the murmur2 hash puts them. Two consumer processes
share one SQLite file (one writer at a time), so their total is bounded by SQLite's single writer; with the
line-protocol store each writes independently (force_flush off: history queries see a write within VictoriaMetrics'
own flush interval, about a second). Every run inserted all ${N} readings exactly once
(1 consumer: ${one.inserted}, 2 consumers: ${two.inserted}).
`;
  const file = resultsFile();
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Scale-out engines", body));
  console.log(body);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
