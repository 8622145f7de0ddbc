// Edge CPU and RSS with industrial connectors: 1,000 OPC UA monitored items sampled at 1 s (against
// `bv-sim plc --bench-variables`), and 5 Modbus RTU slaves polled at 1 s over a socat pty pair
// (against `bv-sim meter`). Simulator, edge and cloud are separate processes. Writes the section
// "Edge connectors" of bench/RESULTS.md. Knobs: BENCH_CONNECTOR_SECONDS (default 30), BENCH_OPCUA_ITEMS (1000).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { BINS, prepareSystem, spawnService, startCloud, startEdge } from "../scripts/system.mjs";
import { procSample, replaceSection, resultsFile } from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_CONNECTOR_SECONDS ?? 30);
const ITEMS = Number(process.env.BENCH_OPCUA_ITEMS ?? 1000);
const OPCUA_PORT = 48_410;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the edge with `connectors` for SECONDS, samples CPU and RSS; returns the figures. */
async function measure(label, connectors) {
  process.stderr.write(`bench: ${label}\n`);
  const prepared = prepareSystem({
    dir: mkdtempSync(join(tmpdir(), "bv-conn-bench-")),
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: 1, id_prefix: "env-", interval_ms: 1000 }] },
    edgeOverrides: { connectors },
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const edge = startEdge(prepared, cp.grpc, { inheritOutput: process.env.BENCH_VERBOSE === "1" });
  const ep = await edge.ready;
  const okReads = async () => {
    const text = await (await fetch(`http://127.0.0.1:${ep.http}/metrics`)).text();
    return [...text.matchAll(/^bv_edge_connector_reads_total\{[^}]*result="ok"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const connected = async () => {
    const text = await (await fetch(`http://127.0.0.1:${ep.http}/metrics`)).text();
    return [...text.matchAll(/^bv_edge_connector_connected\{[^}]*\} (\d+)/gm)].filter((m) => m[1] === "1").length;
  };
  for (let i = 0; i < 120 && (await connected()) < connectors.length; i++) await sleep(1000);
  await sleep(10_000); // subscribe, settle
  const start = procSample(edge.child.pid);
  const before = await okReads();
  await sleep(SECONDS * 1000);
  const end = procSample(edge.child.pid);
  const after = await okReads();
  await edge.stop();
  await cloud.stop();
  return {
    label,
    cpu: Math.round(((end.cpuMs - start.cpuMs) / (SECONDS * 1000)) * 1000) / 10,
    rss: end.rssMb,
    rate: Math.round((after - before) / SECONDS),
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

function startSimulator(args) {
  return spawnService({ name: "sim", bin: BINS.sim, args, env: {}, listeners: [] });
}

// Baseline: the same edge with no connector (one idle MQTT device configured).
const rows = [];
rows.push({ ...(await measure("no connectors (baseline)", [])), what: "—" });

// OPC UA: ITEMS monitored items, 6 numeric points per packaging-plc device, sampled and published at 1 s.
const plc = startSimulator([
  "plc",
  "--port",
  String(OPCUA_PORT),
  "--insecure",
  "--pki",
  join(tmpdir(), "bv-opcua-sim-pki"),
  "--bench-variables",
  String(ITEMS),
]);
for (let i = 0; i < 120 && !(await canConnect(OPCUA_PORT)); i++) await sleep(1000);
const metrics = ["speed", "speed_setpoint", "sealer_temperature", "motor_current", "good_count", "reject_count"];
const plcDevices = Array.from({ length: Math.ceil(ITEMS / metrics.length) }, (_, d) => ({
  id: `plc-${d}`,
  type: "packaging-plc",
  nodes: metrics.map((metric, m) => ({ metric, node_id: `ns=1;s=Bench.${(d * metrics.length + m) % ITEMS}` })),
}));
rows.push({
  ...(await measure(`OPC UA, ${plcDevices.length * metrics.length} monitored items at 1 s`, [
    {
      type: "opcua",
      id: "plc",
      endpoint: `opc.tcp://127.0.0.1:${OPCUA_PORT}/UA/BitVelocityPLC`,
      accept_unknown_server_certificate: true,
      sampling_interval_ms: 1000,
      publishing_interval_ms: 1000,
      devices: plcDevices,
    },
  ])),
  what: "data changes/s",
});
await plc.stop();

// Modbus RTU: 5 power meters on one pty line (socat), catalog map (10 input registers + 1 coil each), polled at 1 s.
const dir = mkdtempSync(join(tmpdir(), "bv-conn-pty-"));
const socat = spawn("socat", [`pty,raw,echo=0,link=${dir}/edge`, `pty,raw,echo=0,link=${dir}/sim`], { stdio: "ignore" });
while (!existsSync(`${dir}/sim`)) await sleep(20);
const meters = startSimulator(["meter", "--serial", `${dir}/sim`, "--baud", "19200", "--units", "1,2,3,4,5"]);
await sleep(1000);
rows.push({
  ...(await measure("Modbus RTU, 5 slaves × 11 points (10 registers + 1 coil) at 1 s, 19200 baud", [
    {
      type: "modbus-rtu",
      id: "meters",
      port: `${dir}/edge`,
      baud_rate: 19_200,
      poll_interval_ms: 1000,
      devices: [1, 2, 3, 4, 5].map((u) => ({ id: `meter-${u}`, type: "power-meter", unit_id: u })),
    },
  ])),
  what: "requests/s",
});
await meters.stop();
socat.kill();

const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine} · load average at the end: ${loadavg()[0]?.toFixed(1)}
Command: \`BENCH_CONNECTOR_SECONDS=${SECONDS} BENCH_OPCUA_ITEMS=${ITEMS} node bench/connectors.mjs\`

| edge with | edge CPU (% of one core) | edge RSS | connector rate |
|---|---|---|---|
${rows.map((r) => `| ${r.label} | ${r.cpu} % | ${r.rss} MB | ${r.what === "—" ? "—" : `${r.rate} ${r.what}`} |`).join("\n")}

CPU is the edge process's user+system time over ${SECONDS} s after a 10 s settling time; RSS from /proc/PID/status at the
end. Simulator (bv-sim plc / bv-sim meter) and cloud run as separate processes on the same machine. The machine was
shared with other engineers' builds and tests while this ran: treat CPU figures as upper bounds. node-opcua-client is
imported only when an OPC UA connector is configured, so the baseline row is the edge without it.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Edge connectors", body));
process.stdout.write(`${body}\n`);
