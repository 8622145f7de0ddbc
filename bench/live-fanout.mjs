// Live fan-out under load, isolated to the cloud: a load driver speaks EdgeSync (gRPC) as edge-1 (or several edges)
// with 1,000 env sensors at 1 Hz (100 readings every 100 ms), first with nobody watching, then
// with 100 socket.io clients (a separate process) each watching all 1,000 devices (subscribed to
// the edge and to the fleet). Measures the cloud's CPU, the store rate, the ingest ack latency
// (batch sent → committed ack) and the delivery latency (reading time → client arrival).
// Writes bench/RESULTS.md "Live fan-out".
//
// Knobs: BENCH_CPU_PROF, BENCH_FANOUT_TRACE (per-second p99, bench/fanout-clients.mjs), BENCH_FANOUT_FLEET=0 (no fleet
// pages), BENCH_FANOUT_DEVICES (1000 per edge), BENCH_FANOUT_EDGES (1), BENCH_FANOUT_CLIENTS (100),
// BENCH_FANOUT_PHASE_S (20). With several edges, each speaks its own EdgeSync stream and watcher i
// watches edge (i mod edges) + 1: BENCH_FANOUT_EDGES=10 is 10,000 readings/s ingested, 1,000 to each watcher.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { generateSecret, hashSecret } from "@bitvelocity/common";
import { EdgeSyncClient } from "@bitvelocity/proto";
import { credentials } from "@grpc/grpc-js";
import { CLOUD_NODE_ARGS, prepareSystem, ROOT, startCloud } from "../scripts/system.mjs";
import { percentile, procSample, replaceSection, resultsFile } from "./lib.mjs";

const DEVICES = Number(process.env.BENCH_FANOUT_DEVICES ?? 1000);
const EDGES = Number(process.env.BENCH_FANOUT_EDGES ?? 1);
const CLIENTS = Number(process.env.BENCH_FANOUT_CLIENTS ?? 100);
const PHASE_S = Number(process.env.BENCH_FANOUT_PHASE_S ?? 20);
const TICK_MS = 100;
// BENCH_CPU_PROF=DIR runs the cloud with --cpu-prof into DIR (then `node bench/profile-top.mjs FILE`).
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(" ").at(-1));
  return total;
}

/** Speaks EdgeSync as `edgeId`: 1 Hz per device, spread over 100 ms ticks; respects credits. */
function startDriver(grpcPort, edgeId, token) {
  const client = new EdgeSyncClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
  const call = client.sync();
  const ids = Array.from({ length: DEVICES }, (_, i) => `${edgeId}-env-${String(i + 1).padStart(4, "0")}`);
  const sentAt = new Map();
  const acks = [];
  let credit = 0;
  let seq = 0;
  let batchId = 0;
  let next = 0;
  let waiting = 0;
  call.on("data", (msg) => {
    const k = msg.kind;
    if (process.env.BENCH_DEBUG) process.stderr.write(`${k?.$case}\n`);
    if (k?.$case === "welcome") credit += k.welcome.credit;
    if (k?.$case === "credit") credit += k.credit.batches;
    if (k?.$case === "ack") {
      const t = sentAt.get(String(k.ack.batchId));
      if (t !== undefined) {
        acks.push(Date.now() - t);
        sentAt.delete(String(k.ack.batchId));
      }
    }
  });
  call.on("error", (err) => {
    if (err.code !== 1) process.stderr.write(`driver: ${err.message}\n`); // 1 = CANCELLED, by stop()
  });
  call.write({
    kind: {
      $case: "hello",
      hello: {
        edgeId,
        token,
        siteId: "",
        bootId: "bench-boot",
        agentVersion: "bench",
        wallTimeMs: Date.now(),
        clockSync: 1,
        uptimeMs: 1000,
        devices: ids.map((id) => ({ deviceId: id, deviceType: "env-sensor", name: id, online: true, lastSeenMs: 0 })),
        configVersion: 0,
        arch: "amd64",
      },
    },
  });
  const perTick = Math.max(1, Math.round((DEVICES * TICK_MS) / 1000));
  const num = (v) => ({ kind: { $case: "number", number: v } });
  const timer = setInterval(() => {
    if (credit <= 0) {
      waiting++;
      return;
    }
    credit--;
    const now = Date.now();
    const readings = [];
    for (let i = 0; i < perTick; i++) {
      const id = ids[next++ % ids.length];
      seq++;
      readings.push({
        seq,
        deviceId: id,
        deviceType: "env-sensor",
        values: { temperature: num(20 + (seq % 50) / 10), humidity: num(45), co2: num(600), battery: num(90) },
        edgeTimeMs: now,
        bootId: "bench-boot",
        uptimeMs: now,
        clockSynced: true,
      });
    }
    batchId++;
    sentAt.set(String(batchId), now);
    call.write({ kind: { $case: "batch", batch: { batchId, lane: 3, readings, replay: false } } });
  }, TICK_MS);
  return {
    takeAcks: () => acks.splice(0),
    takeWaits: () => {
      const w = waiting;
      waiting = 0;
      return w;
    },
    stop: () => {
      clearInterval(timer);
      call.cancel();
      client.close();
    },
  };
}

async function phase(base, pid, driver, seconds) {
  driver.takeAcks();
  driver.takeWaits();
  const c0 = procSample(pid);
  const s0 = await metric(base, "bv_cloud_readings_stored_total");
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const c1 = procSample(pid);
  const s1 = await metric(base, "bv_cloud_readings_stored_total");
  const ms = Date.now() - t0;
  const acks = driver.takeAcks().sort((a, b) => a - b);
  return {
    cpuPct: ((c1.cpuMs - c0.cpuMs) / ms) * 100,
    storeRate: (s1 - s0) / (ms / 1000),
    rssMb: c1.rssMb,
    ack: `${percentile(acks, 50)} / ${percentile(acks, 99)} ms`,
    creditWaits: driver.takeWaits(),
  };
}

async function main() {
  const edgeIds = Array.from({ length: EDGES }, (_, i) => `edge-${i + 1}`);
  const tokens = Object.fromEntries(edgeIds.map((id) => [id, generateSecret()]));
  const prepared = prepareSystem({
    dir: join(ROOT, ".bench-data", `fanout-${Date.now()}`),
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: 1, id_prefix: "env-", interval_ms: 1000 }] },
    // The driver below is a plain gRPC client sending devices it did not declare (explicit dev opt-outs).
    cloudOverrides: {
      grpc: { host: "127.0.0.1", port: 0, insecure: true },
      ingest: { undeclared_devices: "auto-register" },
      edges: edgeIds.map((id) => ({ id, site_id: "site-1", name: id, token_hash: hashSecret(tokens[id]) })),
    },
  });
  const cloud = startCloud(prepared, {
    nodeArgs: [
      ...CLOUD_NODE_ARGS,
      ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, "--cpu-prof-name=cloud.cpuprofile"] : []),
    ],
  });
  const cp = await cloud.ready;
  const base = `http://127.0.0.1:${cp.http}`;
  const drivers = edgeIds.map((id) => startDriver(cp.grpc, id, tokens[id]));
  const driver = {
    takeAcks: () => drivers.flatMap((d) => d.takeAcks()),
    takeWaits: () => drivers.reduce((n, d) => n + d.takeWaits(), 0),
    stop: () => {
      for (const d of drivers) d.stop();
    },
  };
  await sleep(5000);
  const quiet = await phase(base, cloud.child.pid, driver, PHASE_S);

  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: prepared.secrets.adminPassword }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  // Subscribing: every watcher connects and subscribes (ten at a time), and gets its snapshots.
  const subscribing = { at: Date.now(), cpu: procSample(cloud.child.pid).cpuMs };
  const watchers = spawn(process.execPath, [join(ROOT, "bench/fanout-clients.mjs"), base, cookie, String(CLIENTS), String(EDGES)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: watchers.stdout })[Symbol.asyncIterator]();
  const ready = JSON.parse((await lines.next()).value);
  const subscribed = { s: (Date.now() - subscribing.at) / 1000, cpuS: (procSample(cloud.child.pid).cpuMs - subscribing.cpu) / 1000 };
  await sleep(3000);
  const dropped0 = await metric(base, "bv_cloud_live_dropped_total");
  watchers.stdin.write("start\n");
  const watched = await phase(base, cloud.child.pid, driver, PHASE_S);
  watchers.stdin.write("stop\n");
  const fan = JSON.parse((await lines.next()).value);
  const dropped = (await metric(base, "bv_cloud_live_dropped_total")) - dropped0;
  driver.stop();
  await cloud.stop();

  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`;
  const offered = DEVICES * EDGES;
  const command = `BENCH_FANOUT_DEVICES=${DEVICES} BENCH_FANOUT_EDGES=${EDGES} BENCH_FANOUT_CLIENTS=${CLIENTS} BENCH_FANOUT_PHASE_S=${PHASE_S} node bench/live-fanout.mjs`;
  const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}
Command: \`${command}\` (load driver, cloud and the watcher process on this one machine, loopback)

| figure | nobody watching | ${ready.ready} clients, each watching ${DEVICES} devices |
|---|---|---|
| offered (${EDGES} edge${EDGES > 1 ? "s" : ""}, each EdgeSync batches of ${Math.round((DEVICES * TICK_MS) / 1000)} every ${TICK_MS} ms) | ${offered} readings/s | ${offered} readings/s |
| cloud store rate | ${quiet.storeRate.toFixed(0)} readings/s | ${watched.storeRate.toFixed(0)} readings/s |
| ingest ack latency (batch sent → committed ack), p50 / p99 | ${quiet.ack} | ${watched.ack} |
| ticks skipped waiting for credit | ${quiet.creditWaits} | ${watched.creditWaits} |
| cloud CPU (% of one core) | ${quiet.cpuPct.toFixed(0)} % | ${watched.cpuPct.toFixed(0)} % |
| cloud CPU per 10,000 readings/s stored (% of one core) | ${((quiet.cpuPct * 10_000) / quiet.storeRate).toFixed(0)} % | ${((watched.cpuPct * 10_000) / watched.storeRate).toFixed(0)} % |
| cloud RSS | ${quiet.rssMb} MB | ${watched.rssMb} MB |
| ${ready.ready} watchers connecting and subscribing (snapshots included): time / cloud CPU | — | ${subscribed.s.toFixed(1)} s / ${subscribed.cpuS.toFixed(1)} s |
| readings delivered to clients | — | ${fan.rate.toFixed(0)} /s (${(fan.rate / ready.ready).toFixed(0)} per client) |
| delivery latency reading → client, p50 / p95 / p99 (n=${fan.n}) | — | **${fan.p50} / ${fan.p95} / ${fan.p99} ms** |
| readings dropped for slow clients | — | ${dropped} |
| watcher process CPU (% of one core) | — | ${fan.cpuPct.toFixed(0)} % |

How: the driver speaks EdgeSync as the edge (so the simulator and edge agent do not compete for the cores) and keeps
its credit window; each phase lasts ${PHASE_S} s. Cloud CPU is from /proc (user + system) over the phase; the store rate
is the slope of \`bv_cloud_readings_stored_total\`. Each watcher subscribes to \`{edge}\` (every reading of
that edge's ${DEVICES} devices; watcher i watches edge i mod ${EDGES} + 1)${process.env.BENCH_FANOUT_FLEET === "0" ? " and nothing else (BENCH_FANOUT_FLEET=0)" : ` and \`{fleet: true}\` (all ${offered} devices)`}; the cloud writes each commit's readings to a client at once while its
transport keeps up, and coalesces only while the previous write has not drained (at most live.throttle_ms). Latency is sampled on every 10th reading, measured against the
reading's edge time on the same clock.
Caveat: load average ${(await import("node:os"))
    .loadavg()[0]
    .toFixed(
      1,
    )} at the end of the run (the benchmark's own processes, and whatever else runs on the machine), and the watchers parse ~${(DEVICES * ready.ready) / 1000}k readings/s on the same cores as the cloud, so CPU and latency
figures are upper bounds.
`;
  const file = resultsFile();
  const title = EDGES > 1 ? `Live fan-out, ${offered} readings/s from ${EDGES} edges` : "Live fan-out";
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), title, body));
  process.stdout.write(`${body}\n`);
}

await main();
