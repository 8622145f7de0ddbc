// `npm run bench`: throughput and live latency of the whole telemetry path on this machine.
// Starts cloud, edge and simulator as real processes, drives a fleet at a fixed offered rate,
// and writes the figures into bench/RESULTS.md (section "Telemetry path").
//
// Knobs: BENCH_DEVICES (default 200), BENCH_INTERVAL_MS per device (default 50),
// BENCH_SECONDS (default 20), BENCH_WATCH (devices watched over socket.io, default 20),
// BENCH_QUICK=1 (20 devices for 4 s: the CI smoke test), BENCH_RESULTS (another results file),
// BENCH_DATA (where the run's configs and databases go; default .bench-data/), BENCH_SCENARIO (run this
// bv-sim scenario file for BENCH_SECONDS instead of the generated env-sensor fleet).
// Also draws the run over time (throughput, latency, RSS) as telemetry-path.svg beside the results.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { prepareSystem, ROOT, startCloud, startEdge, startSim } from "../scripts/system.mjs";
import { machine, percentile, procSample, replaceSection, resultsFile, watchLive } from "./lib.mjs";
import { svgChart } from "./plot.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const DEVICES = Number(process.env.BENCH_DEVICES ?? (QUICK ? 20 : 200));
const INTERVAL = Number(process.env.BENCH_INTERVAL_MS ?? (QUICK ? 100 : 50));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 4 : 20));
const WATCH = Number(process.env.BENCH_WATCH ?? (QUICK ? 5 : 20));
const SCENARIO = process.env.BENCH_SCENARIO;

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(" ").at(-1));
  return total;
}

async function main() {
  const dir = join(process.env.BENCH_DATA ?? join(ROOT, ".bench-data"), String(Date.now()));
  const prepared = prepareSystem({
    dir,
    ...(SCENARIO
      ? { scenarioFile: SCENARIO, scenarioOverrides: { duration_s: SECONDS } }
      : {
          scenarioOverrides: {
            duration_s: SECONDS,
            fleets: [{ type: "env-sensor", count: DEVICES, id_prefix: "env-", interval_ms: INTERVAL }],
          },
        }),
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const base = `http://127.0.0.1:${cp.http}`;
  const edge = startEdge(prepared, cp.grpc);
  const ep = await edge.ready;

  const latencies = [];
  const socket = await watchLive(base, prepared.secrets.adminPassword, (r, now) => latencies.push(now - r.ts));
  for (const d of prepared.devices.slice(0, WATCH)) await socket.timeout(5000).emitWithAck("subscribe", { device: d.deviceId });

  const before = { cloud: procSample(cloud.child.pid), edge: procSample(edge.child.pid) };
  const t0 = Date.now();
  const statsFile = join(dir, "sim-stats.jsonl");
  const sim = startSim(prepared, ep.mqtt, { args: ["--quiet", "--stats-file", statsFile] });
  const samples = [];
  const timer = setInterval(async () => {
    const procs = { cloud: procSample(cloud.child.pid), edge: procSample(edge.child.pid), sim: procSample(sim.child.pid) };
    samples.push({ t: Date.now(), stored: await metric(base, "bv_cloud_readings_stored_total"), procs });
  }, 1000);
  const simExit = await sim.exited;
  const simSummary = sim
    .logs()
    .split("\n")
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter((x) => x && typeof x === "object" && "acked" in x)
    .at(-1);
  const acked = readFileSync(prepared.files.ackedLog, "utf8").split("\n").filter(Boolean).length;
  // Wait for the backlog to reach the store.
  const deadline = Date.now() + 60_000;
  while ((await metric(base, "bv_cloud_readings_stored_total")) < acked && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  const tEnd = Date.now();
  clearInterval(timer);
  const stored = await metric(base, "bv_cloud_readings_stored_total");
  const after = { cloud: procSample(cloud.child.pid), edge: procSample(edge.child.pid) };
  socket.close();
  await edge.stop();
  await cloud.stop();

  // Steady state: the middle of the run, skipping the first and last 20 % of samples.
  const mid = samples.slice(Math.floor(samples.length * 0.2), Math.ceil(samples.length * 0.8));
  const steady = mid.length >= 2 ? (mid.at(-1).stored - mid[0].stored) / ((mid.at(-1).t - mid[0].t) / 1000) : Number.NaN;
  const fleets = prepared.scenario.fleets;
  const offered = fleets.reduce((sum, f) => sum + (f.count * 1000) / f.interval_ms, 0);
  const fleetText = fleets.map((f) => `${f.count} ${f.type} × ${(1000 / f.interval_ms).toFixed(1)} Hz`).join(" + ");
  const cpuPct = (k) => (((after[k].cpuMs - before[k].cpuMs) / (tEnd - t0)) * 100).toFixed(0);
  const lat = latencies.sort((a, b) => a - b);
  const command = SCENARIO
    ? `BENCH_SCENARIO=${SCENARIO} BENCH_SECONDS=${SECONDS} BENCH_WATCH=${WATCH} node bench/run.mjs`
    : `BENCH_DEVICES=${DEVICES} BENCH_INTERVAL_MS=${INTERVAL} BENCH_SECONDS=${SECONDS} BENCH_WATCH=${WATCH} npm run bench`;
  const peak = (k) => Math.max(0, ...samples.map((x) => x.procs[k].rssMb));
  const simCpu = (() => {
    const during = samples.filter((x) => x.procs.sim.cpuMs > 0);
    if (during.length < 2) return "n/a";
    return (((during.at(-1).procs.sim.cpuMs - during[0].procs.sim.cpuMs) / (during.at(-1).t - during[0].t)) * 100).toFixed(0);
  })();
  const file = resultsFile();
  const svgName = "telemetry-path.svg";
  writeFileSync(join(dirname(file), svgName), chart(samples, readSeries(statsFile), t0, command));
  const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()}
Command: \`${command}\` (simulator, edge and cloud as separate processes on this one machine, all on loopback)

| figure | value |
|---|---|
| devices × rate (offered) | ${fleetText} = ${offered.toFixed(0)} readings/s, QoS ${prepared.scenario.qos} |
| readings acknowledged by the edge broker (durable PUBACK) | ${acked} |
| readings stored in the cloud (distinct) | ${stored} (${stored === acked ? "all" : `MISSING ${acked - stored}`}) |
| steady-state store rate, simulator → cloud store | **${steady.toFixed(0)} readings/s** |
| live latency device publish → socket.io client, p50 / p99 (n=${lat.length}) | **${percentile(lat, 50)} ms / ${percentile(lat, 99)} ms** |
| simulator publish → PUBACK latency p50 / p99 | ${simSummary?.latencyMs ? `${simSummary.latencyMs.p50} ms / ${simSummary.latencyMs.p99} ms` : "n/a"} |
| edge CPU / RSS at end (peak) | ${cpuPct("edge")} % of one core / ${after.edge.rssMb} MB (${peak("edge")} MB) |
| cloud CPU / RSS at end (peak) | ${cpuPct("cloud")} % of one core / ${after.cloud.rssMb} MB (${peak("cloud")} MB) |
| simulator CPU / peak RSS | ${simCpu} % of one core / ${peak("sim")} MB |

![throughput and latency over the run](${svgName})

How: the simulator's acked log counts what the broker acknowledged; \`bv_cloud_readings_stored_total\` counts distinct
readings committed to the cloud store, sampled each second; the steady-state rate is the slope over the middle 60 % of
the run. Live latency is measured on ${WATCH} watched devices as (socket.io arrival − device timestamp), same clock; the
cloud writes to a client at once and coalesces only while its transport has not drained (at most live.throttle_ms).
Simulator exit code: ${simExit.code}.

Reading the figures: simulator, edge and cloud share this machine's cores (the simulator alone takes a large share), so
when the store rate is close to the offered rate it is bounded by the offered load and the shared CPU, not by a measured
ceiling of the edge or the cloud.
`;
  writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Telemetry path", body));
  process.stdout.write(`${body}\n`);
}

/** The simulator's per-second points, without the last one when it covers only the moment of the stop. */
function readSeries(file) {
  let points = [];
  try {
    points = readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
  const [prev, last] = points.slice(-2);
  return prev && last && last.t - prev.t < 700 ? points.slice(0, -1) : points;
}

/** Throughput (acknowledged by the edge, stored in the cloud), latency and RSS, per second of the run. */
function chart(samples, series, t0, command) {
  const x = (t) => (t - t0) / 1000;
  const storedRate = samples.slice(1).map((s, i) => [x(s.t), (s.stored - samples[i].stored) / ((s.t - samples[i].t) / 1000)]);
  return svgChart({
    title: "Telemetry path: simulator → edge → cloud store",
    subtitle: command,
    panels: [
      {
        yLabel: "readings / s",
        series: [
          { name: "acked by the edge (durable PUBACK)", color: "#1f77b4", points: series.map((p) => [x(p.t), p.ackedPerS]) },
          { name: "stored in the cloud", color: "#2ca02c", points: storedRate },
        ],
      },
      {
        yLabel: "publish → PUBACK, ms",
        series: [
          {
            name: "p50 per second",
            color: "#ff7f0e",
            points: series.filter((p) => p.latencyMs.count > 0).map((p) => [x(p.t), p.latencyMs.p50]),
          },
          {
            name: "p99 per second",
            color: "#d62728",
            points: series.filter((p) => p.latencyMs.count > 0).map((p) => [x(p.t), p.latencyMs.p99]),
          },
        ],
      },
      {
        yLabel: "RSS, MB",
        series: [
          { name: "edge", color: "#9467bd", points: samples.map((s) => [x(s.t), s.procs.edge.rssMb]) },
          { name: "cloud", color: "#8c564b", points: samples.map((s) => [x(s.t), s.procs.cloud.rssMb]) },
          {
            name: "simulator",
            color: "#7f7f7f",
            points: samples.filter((s) => s.procs.sim.rssMb > 0).map((s) => [x(s.t), s.procs.sim.rssMb]),
          },
        ],
      },
    ],
  });
}

await main();
