// Edge agent memory: RSS of bv-edge with N devices connected at 1 Hz, after a settling time.
// Writes the section "Edge memory" of bench/RESULTS.md. Knobs: BENCH_MEMORY_DEVICES (default
// "12,1000"), BENCH_MEMORY_SECONDS (default 25).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { prepareSystem, startCloud, startEdge, startSim } from "../scripts/system.mjs";
import { procSample, replaceSection, resultsFile } from "./lib.mjs";

const COUNTS = (process.env.BENCH_MEMORY_DEVICES ?? "12,1000").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 25);

async function measure(devices) {
  const prepared = prepareSystem({
    dir: mkdtempSync(join(tmpdir(), "bv-mem-")),
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: devices, id_prefix: "env-", interval_ms: 1000 }] },
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const edge = startEdge(prepared, cp.grpc);
  const ep = await edge.ready;
  const idle = procSample(edge.child.pid);
  const sim = startSim(prepared, ep.mqtt, { args: ["--quiet"] });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const loaded = procSample(edge.child.pid);
  await sim.stop();
  await edge.stop();
  await cloud.stop();
  return { devices, idle: idle.rssMb, loaded: loaded.rssMb };
}

const rows = [];
for (const n of COUNTS) rows.push(await measure(n));
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}
Command: \`BENCH_MEMORY_DEVICES=${COUNTS.join(",")} BENCH_MEMORY_SECONDS=${SECONDS} node bench/edge-memory.mjs\` (also part of \`npm run bench\`)

| devices connected (env-sensor, 1 Hz, QoS 1) | edge RSS after start, before devices | edge RSS after ${SECONDS} s of traffic |
|---|---|---|
${rows.map((r) => `| ${r.devices} | ${r.idle} MB | ${r.loaded} MB |`).join("\n")}

Goal: under 100 MB on a Raspberry Pi. RSS is read from /proc/PID/status (VmRSS) of the bv-edge process, with the
cloud and the simulator as separate processes.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Edge memory", body));
process.stdout.write(`${body}\n`);
