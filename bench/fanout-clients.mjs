// The watchers of bench/live-fanout.mjs, in their own process so their parsing does not share
// an event loop with the load driver: N socket.io clients, each subscribed to one edge (every
// reading of it; client i watches edge (i mod edges) + 1) and the fleet (device summaries). Prints one JSON line when it gets SIGTERM... or
// rather when asked on stdin: "start" begins measuring, "stop" prints the figures and exits.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [base, cookie, count, edges] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5] ?? 1)];
let measuring = false;
let delivered = 0;
const latencies = [];
// BENCH_FANOUT_TRACE=FILE: also writes, per second of the phase, the sampled readings' p99 and maximum latency (where
// in time the tail is).
const TRACE = process.env.BENCH_FANOUT_TRACE;
const arrivals = [];

async function connectOne(i) {
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
    for (let j = 0; j < batch.length; j += 10) {
      latencies.push(now - batch[j].ts);
      if (TRACE) arrivals.push(now - t0, now - batch[j].ts);
    }
  });
  await s.timeout(60_000).emitWithAck("subscribe", { edge: `edge-${(i % edges) + 1}` });
  if (process.env.BENCH_FANOUT_FLEET !== "0") await s.timeout(60_000).emitWithAck("subscribe", { fleet: true });
  return s;
}

const sockets = [];
// Ten at a time: a fleet subscription starts with a snapshot of every device.
for (let i = 0; i < count; i += 10)
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => connectOne(i + j)))));
process.stdout.write(`${JSON.stringify({ ready: sockets.length })}\n`);
let t0 = 0;
let cpu0 = process.cpuUsage();
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "start") {
    measuring = true;
    t0 = Date.now();
    cpu0 = process.cpuUsage();
  } else if (line === "stop") {
    measuring = false;
    const seconds = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
    process.stdout.write(
      `${JSON.stringify({ cpuPct: ((c) => c.user + c.system)(process.cpuUsage(cpu0)) / 1e4 / seconds, delivered, rate: delivered / seconds, n: latencies.length, p50: p(0.5), p95: p(0.95), p99: p(0.99) })}\n`,
    );
    if (TRACE) writeTrace(TRACE);
    for (const s of sockets) s.close();
    process.exit(0);
  }
}

function writeTrace(file) {
  const bins = [];
  for (let i = 0; i < arrivals.length; i += 2) {
    const second = Math.floor(arrivals[i] / 1000);
    if (!bins[second]) bins[second] = [];
    bins[second].push(arrivals[i + 1]);
  }
  const rows = [...bins].map((b = [], second) => {
    b.sort((x, y) => x - y);
    return `${second}s n=${b.length} p99=${b[Math.floor(0.99 * (b.length - 1))]} max=${b.at(-1)}`;
  });
  appendFileSync(file, `${rows.join("\n")}\n--\n`);
}
