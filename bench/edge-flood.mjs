// Edge CPU per reading: the edge alone under the broker comparison's load (bench/mqtt-load.mjs,
// 50 clients), QoS 0 and QoS 1, and the edge's CPU time per committed reading. Unlike the
// edge/Mosquitto ratio, this figure does not move with Mosquitto's own run-to-run swings, so it is
// the one to compare builds with. Writes the section "Edge CPU per reading" of bench/RESULTS.md.
//
// Knobs: BENCH_FLOOD_BINS (comma-separated bv-edge entry points, each optionally named `name=path`,
// e.g. "before=/tmp/old/edge/dist/bundle/bin.js,after=edge/dist/bundle/bin.js"; default the shipped bundle), BENCH_FLOOD_ROUNDS (default 3: each round
// starts every build afresh, builds alternating), BENCH_FLOOD_QOS (default "0,1"), and the broker
// comparison's BENCH_CMP_* knobs (clients, window, seconds per measurement, the edge's flags).
// BENCH_FLOOD_ARGS (JSON: { name: [node flags] }) gives a named build its own Node flags, so flag
// variants of one build alternate too, e.g. BENCH_FLOOD_BINS="a=edge/dist/bundle/bin.js,b=edge/dist/bundle/bin.js".
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { ROOT } from "../scripts/system.mjs";
import { measure, startEdgeBroker } from "./broker-compare.mjs";
import { machine, median, replaceSection, resultsFile } from "./lib.mjs";

const BINS = (process.env.BENCH_FLOOD_BINS ?? "edge/dist/bundle/bin.js").split(",").map((entry) => {
  const [name, path] = entry.includes("=") ? entry.split("=") : [undefined, entry];
  const bin = resolve(ROOT, path);
  return { bin, name: name ?? relative(ROOT, bin) };
});
const ARGS = process.env.BENCH_FLOOD_ARGS ? JSON.parse(process.env.BENCH_FLOOD_ARGS) : {};
const ROUNDS = Number(process.env.BENCH_FLOOD_ROUNDS ?? 3);
const QOS = (process.env.BENCH_FLOOD_QOS ?? "0,1").split(",").map(Number);

const loadAtStart = loadavg()[0].toFixed(1);
const runs = [];
const dir = mkdtempSync(join(tmpdir(), "bv-flood-"));
for (let round = 1; round <= ROUNDS; round++) {
  for (const [i, { bin, name }] of BINS.entries()) {
    const edge = await startEdgeBroker(join(dir, `r${round}-b${i}`), bin, ARGS[name]);
    try {
      for (const qos of QOS) {
        const m = await measure(edge, qos);
        const run = {
          bin: name,
          round,
          qos,
          rate: m.brokerRate,
          cpu: m.brokerCpu,
          rss: m.brokerRss,
          usPerReading: (m.brokerCpu * 1e4) / m.brokerRate,
        };
        runs.push(run);
        process.stderr.write(
          `${run.bin} round ${round} QoS ${qos}: ${Math.round(run.rate)}/s at ${run.cpu} % → ${run.usPerReading.toFixed(1)} µs, RSS ${run.rss} MB\n`,
        );
      }
    } finally {
      await edge.stop();
    }
  }
}

const f = (v) => Math.round(v).toLocaleString("en-US");
const rows = [];
for (const bin of BINS.map((b) => b.name)) {
  for (const qos of QOS) {
    const mine = runs.filter((r) => r.bin === bin && r.qos === qos);
    rows.push(
      `| \`${bin}\` | QoS ${qos} | **${median(mine.map((r) => r.usPerReading)).toFixed(1)} µs** (${mine.map((r) => r.usPerReading.toFixed(1)).join(", ")}) | ${f(median(mine.map((r) => r.rate)))}/s (${mine.map((r) => f(r.rate)).join(", ")}) | ${median(mine.map((r) => r.cpu))} % | ${median(mine.map((r) => r.rss))} MB (${mine.map((r) => r.rss).join(", ")}) |`,
    );
  }
}
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · load average at start: ${loadAtStart}
Command: \`${process.env.BENCH_FLOOD_BINS ? `BENCH_FLOOD_BINS=${process.env.BENCH_FLOOD_BINS} ` : ""}${process.env.BENCH_FLOOD_ARGS ? `BENCH_FLOOD_ARGS='${process.env.BENCH_FLOOD_ARGS}' ` : ""}BENCH_FLOOD_ROUNDS=${ROUNDS} node bench/edge-flood.mjs\`

The edge alone under the broker comparison's load (same load generator, clients and window; no cloud), each build started
afresh per round and the builds alternating. CPU is the edge process's user + system time over the load's measurement window;
per reading = that CPU time ÷ readings committed in the window (at QoS 0 the edge is CPU-bound, so this is its ceiling).

| build | QoS | edge CPU per committed reading, median (runs) | committed readings/s, median (runs) | edge CPU, median | edge RSS at the window's end, median (runs) |
|---|---|---|---|---|---|
${rows.join("\n")}
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Edge CPU per reading", body));
process.stdout.write(`${body}\n`);
process.exit(0);
