// Broker comparison: the same closed-loop client load (bench/mqtt-load.mjs) against our edge broker
// and against Mosquitto, at QoS 1 and QoS 0, in one run; writes the section "Broker comparison" of
// bench/RESULTS.md (or $BENCH_RESULTS). Mosquitto is started by us on a free port with a temporary
// config (anonymous, no persistence, $SYS every second); the system's own instance is not touched.
//
// Knobs: BENCH_CMP_CLIENTS (default 50), BENCH_CMP_WINDOW in-flight QoS 1 messages per client
// (default 10), BENCH_CMP_SECONDS (default 10), BENCH_QUICK=1 (5 clients, 2 s: the CI smoke test),
// BENCH_CMP_CPU_PROF=DIR (the edge runs with `node --cpu-prof` and writes its profile into DIR at
// exit; summarise it with `node bench/profile-top.mjs DIR/*.cpuprofile`), BENCH_CMP_EDGE_NODE_ARGS (JSON
// array of Node flags for the edge instead of the shipped ones, e.g. '["--max-semi-space-size=8"]'),
// BENCH_CMP_EDGE_OUTBOX (JSON merged into the edge's `outbox` settings, e.g. '{"commit_interval_ms":2}'),
// BENCH_CMP_EDGE_LIMITS (JSON merged into the edge's `mqtt.limits`, e.g. '{"max_uncommitted_total":300}').
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { EDGE_NODE_ARGS, prepareSystem, ROOT, startEdge } from "../scripts/system.mjs";
import { machine, procSample, replaceSection, resultsFile } from "./lib.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const CLIENTS = Number(process.env.BENCH_CMP_CLIENTS ?? (QUICK ? 5 : 50));
const WINDOW = Number(process.env.BENCH_CMP_WINDOW ?? 10);
const SECONDS = Number(process.env.BENCH_CMP_SECONDS ?? (QUICK ? 2 : 10));
const CPU_PROF = process.env.BENCH_CMP_CPU_PROF;
const OUTBOX = process.env.BENCH_CMP_EDGE_OUTBOX ? JSON.parse(process.env.BENCH_CMP_EDGE_OUTBOX) : undefined;
const LIMITS = process.env.BENCH_CMP_EDGE_LIMITS ? JSON.parse(process.env.BENCH_CMP_EDGE_LIMITS) : {};
const EDGE_ARGS = process.env.BENCH_CMP_EDGE_NODE_ARGS ? JSON.parse(process.env.BENCH_CMP_EDGE_NODE_ARGS) : EDGE_NODE_ARGS;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      c.once("connect", () => {
        resolve(true);
        c.end(true);
      });
      c.once("error", () => {
        resolve(false);
        c.end(true);
      });
      c.once("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers MQTT on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function mosquittoAvailable() {
  return spawnSync("mosquitto", ["-h"], { stdio: "ignore" }).error === undefined;
}

export async function startMosquitto(dir) {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\nmax_queued_messages 100000\n`);
  const child = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
  // $SYS/broker/publish/messages/received: PUBLISH packets received since start, updated every second.
  const sys = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const updates = [];
  sys.on("message", (_t, p) => updates.push({ t: Date.now(), n: Number(p.toString()) }));
  await sys.subscribeAsync("$SYS/broker/publish/messages/received");
  return {
    name: "Mosquitto",
    port,
    pid: child.pid,
    // The load is steady from before `from` to after `to`: the slope between the $SYS updates
    // around the window (published once a second, only when the count changed).
    rateBetween(from, to) {
      const inside = updates.filter((u) => u.t >= from - 1100 && u.t <= to + 1100);
      if (inside.length < 2) return Number.NaN;
      const a = inside[0];
      const b = inside.at(-1);
      return (b.n - a.n) / ((b.t - a.t) / 1000);
    },
    async stop() {
      await sys.endAsync(true);
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** The edge as a broker (no cloud); `bin` runs another build of bv-edge (a before/after comparison). */
export async function startEdgeBroker(dir, bin = undefined, edgeArgs = EDGE_ARGS) {
  const prepared = prepareSystem({
    dir,
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: CLIENTS, id_prefix: "env-", interval_ms: 1000 }] },
    // The per-device message-rate limit (100/s by default, an abuse guard) would measure itself, not the broker.
    edgeOverrides: {
      mqtt: { host: "127.0.0.1", port: 0, ws_port: 0, limits: { message_rate_per_s: 1_000_000, message_burst: 1_000_000, ...LIMITS } },
      ...(OUTBOX ? { outbox: OUTBOX } : {}),
    },
  });
  // No cloud: the broker and its durable outbox are measured, not the uplink (readings stay queued).
  const unreachable = await freePort();
  const nodeArgs = CPU_PROF ? [...edgeArgs, "--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : edgeArgs;
  const edge = startEdge(prepared, unreachable, { nodeArgs, bin });
  const ports = await edge.ready;
  const accepted = async () => {
    const text = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
    let total = 0;
    for (const l of text.split("\n"))
      if (l.startsWith("bv_edge_readings_accepted_total ") || l.startsWith("bv_edge_readings_accepted_total{"))
        total += Number(l.split(" ").at(-1));
    return total;
  };
  const marks = new Map();
  return {
    name: "bv-edge (aedes + SQLite outbox)",
    port: ports.mqtt,
    pid: edge.child.pid,
    fleetSecret: prepared.secrets.fleetSecret,
    // A busy edge may answer /metrics late: the count is taken at the answer, so that is its time.
    async mark(at) {
      const n = await accepted();
      marks.set(at, { n, t: Date.now() });
    },
    rateBetween(from, to) {
      const a = marks.get(from);
      const b = marks.get(to);
      return (b.n - a.n) / ((b.t - a.t) / 1000);
    },
    async stop() {
      await edge.stop();
    },
  };
}

/** Starts the load; `phase(name)` resolves when the load says its measurement window starts ("measuring") or ends ("done"). */
function runLoad(broker, qos) {
  const cfg = {
    url: `mqtt://127.0.0.1:${broker.port}`,
    clients: CLIENTS,
    window: WINDOW,
    qos,
    seconds: SECONDS,
    fleetSecret: broker.fleetSecret ?? "x",
  };
  const child = spawn(process.execPath, [join(ROOT, "bench/mqtt-load.mjs"), JSON.stringify(cfg)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const waiting = new Map();
  const seen = new Set();
  let buffered = "";
  let last;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const msg = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      if (msg.phase) {
        seen.add(msg.phase);
        waiting.get(msg.phase)?.();
      } else last = msg;
    }
  });
  const result = new Promise((resolve, reject) => {
    child.once("exit", (code) => (code === 0 && last ? resolve(last) : reject(new Error(`load exited ${code}`))));
  });
  return {
    pid: child.pid,
    result,
    phase: (name) =>
      seen.has(name) ? Promise.resolve() : Promise.race([new Promise((r) => waiting.set(name, r)), result.then(() => undefined)]),
  };
}

export async function measure(broker, qos) {
  const load = runLoad(broker, qos);
  // The same window as the load's own: from its "measuring" to its "done".
  await load.phase("measuring");
  const from = Date.now();
  const b0 = procSample(broker.pid);
  const l0 = procSample(load.pid);
  await broker.mark?.(from);
  await load.phase("done");
  const to = Date.now();
  // CPU first: the load generator exits right after its window.
  const b1 = procSample(broker.pid);
  const l1 = procSample(load.pid);
  await broker.mark?.(to);
  const done = await load.result;
  if (!broker.mark) await new Promise((r) => setTimeout(r, 1200)); // let Mosquitto's last $SYS update arrive
  const cpu = (a, b) => Math.round(((b.cpuMs - a.cpuMs) / (to - from)) * 100);
  return {
    qos,
    brokerRate: broker.rateBetween(from, to),
    clientRate: done.ackedPerS,
    disconnects: done.disconnects,
    latency: done.latencyMs,
    brokerCpu: cpu(b0, b1),
    brokerRss: b1.rssMb,
    loadCpu: cpu(l0, l1),
  };
}

export async function compareBrokers() {
  const dir = mkdtempSync(join(tmpdir(), "bv-cmp-"));
  const results = { edge: [], mosquitto: [] };
  const edge = await startEdgeBroker(join(dir, "edge"));
  const mosq = await startMosquitto(dir).catch(async (err) => {
    await edge.stop();
    throw err;
  });
  try {
    // Interleaved, so that a change in the machine's background load hits both brokers alike.
    for (const qos of [1, 0]) {
      results.edge.push(await measure(edge, qos));
      results.mosquitto.push(await measure(mosq, qos));
    }
  } finally {
    await edge.stop();
    await mosq.stop();
  }
  return results;
}

function table(results) {
  const f = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a");
  const rows = [];
  for (const qos of [1, 0]) {
    const e = results.edge.find((r) => r.qos === qos);
    const m = results.mosquitto.find((r) => r.qos === qos);
    const ratio = e.brokerRate / m.brokerRate;
    // QoS 0: each reading is still committed (fsync'd) before it counts; Mosquitto keeps it in memory only.
    const target = qos === 1 ? 0.8 : 0.5;
    rows.push(
      `| QoS ${qos} | ${f(e.brokerRate)} msg/s | ${f(m.brokerRate)} msg/s | **${Number.isFinite(ratio) ? ratio.toFixed(2) : "n/a"}×** (target ≥ ${target.toFixed(1)}×: ${ratio >= target ? "met" : "NOT met"}) | ${f(e.clientRate)} / ${f(m.clientRate)} | ${e.disconnects} / ${m.disconnects} | ${qos === 1 ? `${e.latency.p50} / ${e.latency.p99} ms` : "—"} | ${qos === 1 ? `${m.latency.p50} / ${m.latency.p99} ms` : "—"} | ${e.brokerCpu} % / ${e.brokerRss} MB | ${m.brokerCpu} % / ${m.brokerRss} MB | ${e.loadCpu} % / ${m.loadCpu} % |`,
    );
  }
  return rows.join("\n");
}

async function main() {
  if (!mosquittoAvailable()) {
    process.stderr.write("broker-compare: no mosquitto binary (Debian package mosquitto); skipped\n");
    if (process.env.BV_REQUIRE_SERVICES === "1") process.exit(1);
    return;
  }
  const results = await compareBrokers();
  const command = `BENCH_CMP_CLIENTS=${CLIENTS} BENCH_CMP_WINDOW=${WINDOW} BENCH_CMP_SECONDS=${SECONDS} node bench/broker-compare.mjs`;
  const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()}
Command: \`${command}\` (also part of \`npm run bench\`)

The same load — ${CLIENTS} clients, each with ${WINDOW} QoS 1 messages in flight (QoS 0: as fast as the socket drains), real
env-sensor telemetry — against each broker in turn, interleaved, ${SECONDS} s per measurement, load generator in its own process.

| | bv-edge | Mosquitto 2 | ratio edge / Mosquitto | client-side acked/s edge / Mosquitto | connections lost (incl. failed reconnects) edge / Mosquitto | edge publish→PUBACK p50 / p99 | Mosquitto p50 / p99 | edge CPU / RSS | Mosquitto CPU / RSS | load generator CPU (edge run / Mosquitto run) |
|---|---|---|---|---|---|---|---|---|---|---|
${table(results)}

**Not the same promise.** The edge sends PUBACK only after the reading is committed (fsync'd group commit) in its SQLite
outbox, and a QoS 0 reading is counted once committed too. Mosquitto acknowledges from memory: this instance runs with
\`persistence false\`, and even with persistence on it writes its database only every \`autosave_interval\` (30 min by
default), so a Mosquitto PUBACK says nothing about the disk. The edge also validates every payload against the device
profile and authenticates each device by a hashed secret; Mosquitto here allows anonymous clients. At QoS 0 nothing but TCP slows the sender: the
client-side rate counts what was written into socket buffers, so the broker-side count is the figure. The edge stops
reading a connection while it has \`mqtt.limits.max_uncommitted\` readings awaiting their commit (or all connections
together \`max_uncommitted_total\`), so a sender faster than the commit is slowed by TCP back-pressure, not disconnected,
and the edge's memory stays bounded. A connection the broker drops is counted (with any failed reconnect attempts) and
the client reconnects.

How: throughput is counted by each broker over the load generator's own measurement window (it announces its start and
end, after connecting and a 1 s warm-up) — the edge's \`bv_edge_readings_accepted_total\` read at both ends, Mosquitto's \`$SYS/broker/publish/messages/received\` (updated each second, so ±1 s of the window). The edge runs
without a cloud, so its uplink does not compete for the CPU, and with its per-device message-rate limit
(\`mqtt.limits.message_rate_per_s\`, an abuse guard) raised out of the way. CPU is % of one core over the window. The machine has 2 cores
shared with the load generator (load average when this started: ${(await import("node:os")).loadavg()[0].toFixed(1)}): absolute figures are low, ratios are the result.
`;
  const file = resultsFile();
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Broker comparison", body));
  process.stdout.write(`${body}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
