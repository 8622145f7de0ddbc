// Backlog drain after an outage: the edge's outbox holds BENCH_BACKLOG readings (1,000,000 by
// default) when the cloud comes back. Measures the drain rate edge → cloud store, the live latency
// of a device publishing meanwhile (live first: it must not wait behind the backlog), and the
// disk bytes the edge wrote. Edge and cloud are separate processes. Writes the section "Backlog
// drain" of bench/RESULTS.md. Usage: node bench/backlog-drain.mjs
// BENCH_BACKLOG_BATCH=N sets the edge's uplink.backlog_batch_readings (default: the shipped 3000).
// BENCH_CPU_PROF=DIR runs edge and cloud with --cpu-prof into DIR (then `node bench/store-profile.mjs --top FILE`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { CLOUD_NODE_ARGS, EDGE_NODE_ARGS, prepareSystem, ROOT, startCloud, startEdge } from "../scripts/system.mjs";
import { percentile, procSample, replaceSection, resultsFile, watchLive } from "./lib.mjs";

const { Outbox } = await import(join(ROOT, "edge/dist/outbox/index.js"));
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const LIVE_HZ = 10;
// Readings per backlog batch (uplink.backlog_batch_readings); unset: the shipped default.
const BACKLOG_BATCH = process.env.BENCH_BACKLOG_BATCH ? Number(process.env.BENCH_BACKLOG_BATCH) : undefined;
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const profileArgs = (name) => (PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

function metric(text, name) {
  let total;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

function writeBytes(pid) {
  try {
    return Number(/write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const dir = mkdtempSync(join(tmpdir(), "bv-bench-drain-"));
const prepared = prepareSystem({
  dir,
  scenarioOverrides: { fleets: [{ type: "env-sensor", count: 201, id_prefix: "env-", interval_ms: 1000 }] },
  edgeOverrides: {
    uplink: { url: "127.0.0.1:0", ...(BACKLOG_BATCH ? { backlog_batch_readings: BACKLOG_BATCH } : {}) },
    outbox: { budget_mb: 1024 },
  },
});
const [liveDevice, ...backlogDevices] = prepared.devices;

// The outage: readings pile up in the edge's outbox (written here with the edge's own Outbox).
const fillStarted = performance.now();
{
  const outbox = Outbox.open({
    dir: join(dir, "edge-data"),
    bootId: "before-the-outage",
    budgetBytes: 1024 * 1024 * 1024,
    maxPending: 10_000,
  });
  for (let n = 0; n < BACKLOG; ) {
    const wave = [];
    for (let k = 0; k < 5000 && n < BACKLOG; k++, n++) {
      const d = backlogDevices[n % backlogDevices.length];
      wave.push(
        outbox.append({
          deviceId: d.deviceId,
          deviceType: "env-sensor",
          values: { temperature: 20 + (n % 50) / 10, humidity: 40 + (n % 30) },
        }),
      );
    }
    await Promise.all(wave);
  }
  outbox.close();
}
const fillSeconds = (performance.now() - fillStarted) / 1000;

const cloud = startCloud(prepared, { nodeArgs: [...CLOUD_NODE_ARGS, ...profileArgs("cloud")] });
const cp = await cloud.ready;
const base = `http://127.0.0.1:${cp.http}`;
const latencies = [];
const socket = await watchLive(base, prepared.secrets.adminPassword, (r, now) => {
  if (r.deviceId === liveDevice.deviceId) latencies.push(now - r.ts);
});

const edge = startEdge(prepared, cp.grpc, { nodeArgs: [...EDGE_NODE_ARGS, ...profileArgs("edge")] });
const ep = await edge.ready;
const edgeWritesBefore = writeBytes(edge.child.pid);
await new Promise((r) => setTimeout(r, 300));
await socket.timeout(10_000).emitWithAck("subscribe", { device: liveDevice.deviceId });
const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${ep.mqtt}`, {
  clientId: liveDevice.deviceId,
  username: liveDevice.deviceId,
  password: liveDevice.secret,
});
let published = 0;
const publisher = setInterval(() => {
  published++;
  void device.publishAsync(`bv/${liveDevice.deviceId}/telemetry`, JSON.stringify({ ts: Date.now(), values: { temperature: 21 } }), {
    qos: 1,
  });
}, 1000 / LIVE_HZ);

const started = Date.now();
const samples = [];
let done = false;
let cpuBefore = { edge: procSample(edge.child.pid), cloud: procSample(cloud.child.pid) };
while (!done && Date.now() - started < 15 * 60_000) {
  await new Promise((r) => setTimeout(r, 1000));
  const text = await (await fetch(`http://127.0.0.1:${ep.http}/metrics`)).text();
  const left = metric(text, "bv_edge_outbox_readings") ?? Number.NaN;
  samples.push({ t: (Date.now() - started) / 1000, left });
  done = left === 0;
}
const drainSeconds = (Date.now() - started) / 1000;
const cpuAfter = { edge: procSample(edge.child.pid), cloud: procSample(cloud.child.pid) };
const edgeWritten = writeBytes(edge.child.pid) - edgeWritesBefore;
clearInterval(publisher);
// The live readings still on their way when the outbox emptied (up to 3 s), so n counts every one that arrives.
for (let waited = 0; latencies.length < published && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
const stored = metric(await (await fetch(`${base}/metrics`)).text(), "bv_cloud_readings_stored_total");
await device.endAsync();
socket.close();
await edge.stop();
await cloud.stop();
rmSync(dir, { recursive: true, force: true });

// Drain rate over the middle of the run (the start includes the handshake, the end the tail).
const mid = samples.filter((s) => s.left > BACKLOG * 0.1 && s.left < BACKLOG * 0.9);
const rate = mid.length >= 2 ? (mid[0].left - mid[mid.length - 1].left) / (mid[mid.length - 1].t - mid[0].t) : BACKLOG / drainSeconds;
latencies.sort((a, b) => a - b);
const pct = (cpu, secs) => Math.round(((cpu.after - cpu.before) / (secs * 1000)) * 100);
const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`;
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}
Command: \`BENCH_BACKLOG=${BACKLOG} node bench/backlog-drain.mjs\` (also part of \`npm run bench\`)

| figure | value |
|---|---|
| backlog written into the outbox (durable group commits, FULL) | ${BACKLOG} readings in ${fillSeconds.toFixed(1)} s = ${Math.round(BACKLOG / fillSeconds)} readings/s |
| drain edge → cloud store (backlog batches of ${(BACKLOG_BATCH ?? 3000).toLocaleString("en")} readings, credit window 4), middle 80 % | **${Math.round(rate)} readings/s** |
| whole backlog drained in | ${drainSeconds.toFixed(1)} s (${stored} readings stored in the cloud) |
| live device at ${LIVE_HZ} Hz during the drain, publish → socket.io, p50 / p99 (n=${latencies.length} of ${published}) | **${percentile(latencies, 50)} ms / ${percentile(latencies, 99)} ms** |
| edge disk bytes written during the drain (deletes, WAL, checkpoints) | ${(edgeWritten / 1e6).toFixed(0)} MB = ${(((edgeWritten / BACKLOG) * 1e6) / 1e6).toFixed(0)} MB per million readings drained |
| edge / cloud CPU during the drain | ${pct({ before: cpuBefore.edge.cpuMs, after: cpuAfter.edge.cpuMs }, drainSeconds)} % / ${pct({ before: cpuBefore.cloud.cpuMs, after: cpuAfter.cloud.cpuMs }, drainSeconds)} % of one core |
| edge / cloud RSS at the end | ${cpuAfter.edge.rssMb} MB / ${cpuAfter.cloud.rssMb} MB |

Targets: drain ≥ 100,000 readings/s, live p99 ≤ 1 s while draining. Live latency includes the cloud's per-client
coalescing, which waits only while a client's transport has not drained its previous write (at most live.throttle_ms). The cloud commits every batch to its SQLite store (with 1 min and 1 h
rollups) before it acknowledges it; the edge deletes readings only on that acknowledgement.`;
cpuBefore = undefined;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Backlog drain", body));
console.log(body);
