// Live fan-out under load: 1,000 devices at 1 Hz through the real simulator → edge → cloud path,
// first with nobody watching, then with 100 socket.io clients each watching all 1,000 devices
// (subscribed to the edge and the fleet). Measures cloud CPU, the store rate and the delivery
// latency (socket.io arrival − device timestamp) and writes bench/RESULTS.md "Live fan-out".
//
// Knobs: BENCH_FANOUT_DEVICES (1000), BENCH_FANOUT_CLIENTS (100), BENCH_FANOUT_PHASE_S (20).
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { prepareSystem, ROOT, startCloud, startEdge, startSim } from "../scripts/system.mjs";
import { percentile, procSample, replaceSection } from "./lib.mjs";

const DEVICES = Number(process.env.BENCH_FANOUT_DEVICES ?? 1000);
const CLIENTS = Number(process.env.BENCH_FANOUT_CLIENTS ?? 100);
const PHASE_S = Number(process.env.BENCH_FANOUT_PHASE_S ?? 20);
const WARMUP_S = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(" ").at(-1));
  return total;
}

/** Cloud CPU (% of one core) and store rate over `seconds`. */
async function phase(base, pid, seconds) {
  const c0 = procSample(pid);
  const s0 = await metric(base, "bv_cloud_readings_stored_total");
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const c1 = procSample(pid);
  const s1 = await metric(base, "bv_cloud_readings_stored_total");
  const ms = Date.now() - t0;
  return { cpuPct: ((c1.cpuMs - c0.cpuMs) / ms) * 100, storeRate: (s1 - s0) / (ms / 1000), rssMb: c1.rssMb };
}

async function main() {
  const dir = join(ROOT, ".bench-data", `fanout-${Date.now()}`);
  const prepared = prepareSystem({
    dir,
    scenarioOverrides: {
      duration_s: 0, // until stopped: connecting the clients takes a while on a loaded machine
      fleets: [{ type: "env-sensor", count: DEVICES, id_prefix: "env-", interval_ms: 1000 }],
    },
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const base = `http://127.0.0.1:${cp.http}`;
  const edge = startEdge(prepared, cp.grpc);
  const ep = await edge.ready;
  const sim = startSim(prepared, ep.mqtt, { args: ["--quiet"] });
  await sleep(WARMUP_S * 1000);

  const quiet = await phase(base, cloud.child.pid, PHASE_S);

  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: prepared.secrets.adminPassword }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  let measuring = false;
  const latencies = [];
  let delivered = 0;
  const connectOne = async () => {
    const s = io(base, { extraHeaders: { cookie }, transports: ["websocket"], forceNew: true });
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    s.on("readings", (batch) => {
      if (!measuring) return;
      const now = Date.now();
      delivered += batch.length;
      // Every 10th reading is enough for stable percentiles and keeps this process light.
      for (let j = 0; j < batch.length; j += 10) latencies.push(now - batch[j].ts);
    });
    await s.timeout(30_000).emitWithAck("subscribe", { edge: "edge-1" });
    await s.timeout(30_000).emitWithAck("subscribe", { fleet: true });
    return s;
  };
  const sockets = [];
  // Ten at a time: a fleet subscription starts with a snapshot of every device.
  for (let i = 0; i < CLIENTS; i += 10) sockets.push(...(await Promise.all(Array.from({ length: Math.min(10, CLIENTS - i) }, connectOne))));
  await sleep(3000);
  const dropped0 = await metric(base, "bv_cloud_live_dropped_total");
  measuring = true;
  const t0 = Date.now();
  const watched = await phase(base, cloud.child.pid, PHASE_S);
  measuring = false;
  const deliveredRate = delivered / ((Date.now() - t0) / 1000);
  const dropped = (await metric(base, "bv_cloud_live_dropped_total")) - dropped0;
  for (const s of sockets) s.close();
  await sim.stop();
  await edge.stop();
  await cloud.stop();

  const lat = latencies.sort((a, b) => a - b);
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`;
  const command = `BENCH_FANOUT_DEVICES=${DEVICES} BENCH_FANOUT_CLIENTS=${CLIENTS} BENCH_FANOUT_PHASE_S=${PHASE_S} node bench/live-fanout.mjs`;
  const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}
Command: \`${command}\` (simulator, edge, cloud and the ${CLIENTS} socket.io clients as separate processes on this one machine)

| figure | nobody watching | ${CLIENTS} clients × ${DEVICES} devices |
|---|---|---|
| offered | ${DEVICES} readings/s | ${DEVICES} readings/s |
| cloud store rate | ${quiet.storeRate.toFixed(0)} readings/s | ${watched.storeRate.toFixed(0)} readings/s |
| cloud CPU (% of one core) | ${quiet.cpuPct.toFixed(0)} % | ${watched.cpuPct.toFixed(0)} % |
| cloud RSS | ${quiet.rssMb} MB | ${watched.rssMb} MB |
| readings delivered to clients | — | ${deliveredRate.toFixed(0)} /s (${(deliveredRate / CLIENTS).toFixed(0)} per client) |
| delivery latency device → client, p50 / p95 / p99 (n=${lat.length}) | — | **${percentile(lat, 50)} / ${percentile(lat, 95)} / ${percentile(lat, 99)} ms** |
| readings dropped for slow clients | — | ${dropped} |

How: each phase lasts ${PHASE_S} s after a ${WARMUP_S} s warm-up. Cloud CPU is from /proc (user + system) over the phase;
the store rate is the slope of \`bv_cloud_readings_stored_total\`. Each client subscribes to \`{edge}\` (every reading
of the ${DEVICES} devices) and \`{fleet: true}\` (device summaries); the cloud coalesces per client and flushes every
live.throttle_ms (250 ms), so latency includes up to one window. Latency is sampled on every 10th reading.
Caveat: the machine is shared by several engineers and the clients run on the same cores as the cloud, so CPU and
latency figures are upper bounds.
`;
  const file = join(ROOT, "bench/RESULTS.md");
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Live fan-out", body));
  process.stdout.write(`${body}\n`);
}

await main();
