// Simulator scale: N MQTT devices from one bv-sim process, and the same fleet over several
// processes; memory per simulated device and whether every device got connected and acknowledged.
// The peer is a Mosquitto we start on a free port (bench/broker-compare.mjs), so the simulator is
// what is measured. Writes the section "Simulator scale" of bench/RESULTS.md (or $BENCH_RESULTS).
// Knobs: BENCH_SIM_DEVICES (default 10000), BENCH_SIM_PROCESSES (default 2), BENCH_SIM_SECONDS (default 40),
// BENCH_QUICK=1 (300 devices, 10 s).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { BINS } from "../scripts/system.mjs";
import { mosquittoAvailable, startMosquitto } from "./broker-compare.mjs";
import { machine, procSample, replaceSection, resultsFile } from "./lib.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const DEVICES = Number(process.env.BENCH_SIM_DEVICES ?? (QUICK ? 300 : 10_000));
const PROCESSES = Number(process.env.BENCH_SIM_PROCESSES ?? 2);
const SECONDS = Number(process.env.BENCH_SIM_SECONDS ?? (QUICK ? 10 : 40));
const INTERVAL_MS = QUICK ? 2_000 : 10_000;

/** The pids of a process and its children (the shards of a multi-process run). */
function family(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...kids];
}

async function runSim(dir, port, devices, processes, seconds) {
  const scenario = join(dir, `scale-${devices}-${processes}.yaml`);
  writeFileSync(
    scenario,
    stringify({
      version: 1,
      seed: 1,
      broker: { url: `mqtt://127.0.0.1:${port}`, connect_timeout_ms: 30_000 },
      qos: 1,
      duration_s: seconds,
      processes,
      fleets: [{ type: "env-sensor", count: devices, id_prefix: "e-", interval_ms: INTERVAL_MS }],
    }),
  );
  const child = spawn(process.execPath, [BINS.sim, "--scenario", scenario, "--quiet"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  let peak = 0;
  let settled = 0;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const rss = family(child.pid).reduce((sum, pid) => sum + procSample(pid).rssMb, 0);
    peak = Math.max(peak, rss);
    // Once every device had its chance to connect (the stagger is one interval), RSS is the steady state.
    const elapsed = Date.now() - t0;
    if (elapsed > Math.min(INTERVAL_MS + 5_000, seconds * 1000 - 2_000) && elapsed < seconds * 1000) settled = Math.max(settled, rss);
  }, 1000);
  const code = await new Promise((r) => child.once("exit", r));
  clearInterval(timer);
  const summary = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  return { devices, processes, code, peak, settled, summary };
}

async function main() {
  if (!mosquittoAvailable()) {
    process.stderr.write("sim-scale: no mosquitto binary (Debian package mosquitto); skipped\n");
    if (process.env.BV_REQUIRE_SERVICES === "1") process.exit(1);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "bv-sim-scale-"));
  const mosq = await startMosquitto(dir);
  const rows = [];
  try {
    const one = await runSim(dir, mosq.port, 1, 1, Math.min(SECONDS, 20));
    rows.push(one);
    rows.push(await runSim(dir, mosq.port, DEVICES, 1, SECONDS));
    if (PROCESSES > 1) rows.push(await runSim(dir, mosq.port, DEVICES, PROCESSES, SECONDS));
  } finally {
    await mosq.stop();
  }
  const base = rows[0].settled || rows[0].peak;
  const line = (r) => {
    // A multi-process run has a parent (merging the figures) besides its shards: each is one baseline process.
    const baselines = r.processes > 1 ? r.processes + 1 : 1;
    const perDevice = r.devices > 1 ? `${(((r.settled - base * baselines) * 1024) / r.devices).toFixed(1)} KB` : "—";
    const s = r.summary;
    return `| ${r.devices} | ${r.processes} | ${s.connects ?? "?"} | ${s.acked ?? "?"} / ${s.sent ?? "?"} | ${s.latencyMs ? `${s.latencyMs.p50} / ${s.latencyMs.p99} ms` : "n/a"} | ${r.settled} MB (peak ${r.peak}) | ${perDevice} | ${r.code} |`;
  };
  const command = `BENCH_SIM_DEVICES=${DEVICES} BENCH_SIM_PROCESSES=${PROCESSES} BENCH_SIM_SECONDS=${SECONDS} node bench/sim-scale.mjs`;
  const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()}
Command: \`${command}\` (also part of \`npm run bench\`)

env-sensor devices at one reading per ${INTERVAL_MS / 1000} s, QoS 1, connects spread over ${INTERVAL_MS / 1000} s, against a Mosquitto
started for the run; ${SECONDS} s per row. RSS is the sum over the simulator's processes, read from /proc after every device had
its chance to connect and before the stop (the largest sample in that span).

| devices | processes | connects | acked / sent | publish→PUBACK p50 / p99 | simulator RSS | RSS per device (above a 1-device run) | exit |
|---|---|---|---|---|---|---|---|
${rows.map(line).join("\n")}

Where the memory goes (heap snapshot of 2,000 devices, one process): about 17 KB of JS heap per device, nearly all of it
the mqtt.js client and its socket (MqttClient in dictionary mode ~1.6 KB, the net.Socket with its stream states, the
mqtt-packet parser, two stores, a keepalive timer, ~34 small Buffers); the simulator's own state (SimDevice, signal model,
clock, command handler, backoffs) is under 1 KB. Readings are driven by one scheduler (a heap and one timer) for the whole
fleet, not a timer per device.
`;
  const file = resultsFile();
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Simulator scale", body));
  process.stdout.write(`${body}\n`);
}

await main();
