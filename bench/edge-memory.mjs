// Edge agent memory: RSS of bv-edge with N devices connected at 1 Hz, after a settling time.
// Writes the section "Edge memory" of bench/RESULTS.md. Knobs: BENCH_MEMORY_DEVICES (default
// "12,1000"), BENCH_MEMORY_SECONDS (default 25).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { EDGE_NODE_ARGS, prepareSystem, startCloud, startEdge, startSim } from "../scripts/system.mjs";
import { median, procSample, replaceSection, resultsFile } from "./lib.mjs";

const LOAD_AT_START = (await import("node:os")).loadavg()[0].toFixed(1);

const COUNTS = (process.env.BENCH_MEMORY_DEVICES ?? "12,1000").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 25);

async function measure(devices, nodeArgs, env = {}, bin = undefined) {
  const prepared = prepareSystem({
    dir: mkdtempSync(join(tmpdir(), "bv-mem-")),
    scenarioOverrides: { fleets: [{ type: "env-sensor", count: devices, id_prefix: "env-", interval_ms: 1000 }] },
  });
  const cloud = startCloud(prepared);
  const cp = await cloud.ready;
  const edge = startEdge(prepared, cp.grpc, { nodeArgs, env, bin });
  const ep = await edge.ready;
  const idle = procSample(edge.child.pid);
  const sim = startSim(prepared, ep.mqtt, { args: ["--quiet"] });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const loaded = procSample(edge.child.pid);
  const cpu = Math.round(((loaded.cpuMs - idle.cpuMs) / (SECONDS * 1000)) * 100);
  await sim.stop();
  await edge.stop();
  await cloud.stop();
  return { devices, idle: idle.rssMb, loaded: loaded.rssMb, cpu };
}

// V8 defaults (without the launchers' flags the agent leaves V8 alone), the flags the edge shipped with
// before ADR 012's young-generation switch (--optimize-for-size on the command line), and the flags it ships with.
// BENCH_MEMORY_EXTRA=1 adds a variant with glibc's malloc limited to two arenas; BENCH_MEMORY_REPEAT
// measures each variant that many times, interleaved (the median is reported, every run listed).
// BENCH_MEMORY_VARIANTS (JSON: [{ "name", "args", "env"?, "bin"? }]) replaces the list below.
const VARIANTS = process.env.BENCH_MEMORY_VARIANTS
  ? JSON.parse(process.env.BENCH_MEMORY_VARIANTS)
  : [
      { name: "V8 defaults", args: [] },
      {
        name: "`--max-semi-space-size=1 --optimize-for-size --v8-pool-size=1` (shipped before)",
        args: ["--max-semi-space-size=1", "--optimize-for-size", "--v8-pool-size=1"],
      },
      { name: `\`${EDGE_NODE_ARGS.join(" ")}\` (as shipped)`, args: EDGE_NODE_ARGS },
      ...(process.env.BENCH_MEMORY_EXTRA === "1"
        ? [{ name: "as shipped, with `MALLOC_ARENA_MAX=2`", args: EDGE_NODE_ARGS, env: { MALLOC_ARENA_MAX: "2" } }]
        : []),
    ];
const REPEAT = Number(process.env.BENCH_MEMORY_REPEAT ?? 1);
const rows = [];
for (const devices of COUNTS) {
  const runs = VARIANTS.map(() => []);
  for (let r = 0; r < REPEAT; r++) {
    for (const [i, v] of VARIANTS.entries()) runs[i].push(await measure(devices, v.args, v.env, v.bin));
  }
  const results = runs.map((ms) => {
    const m = ms.find((x) => x.loaded === median(ms.map((y) => y.loaded)));
    return { ...m, all: ms.map((x) => x.loaded) };
  });
  rows.push({ devices, results });
}
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}
Command: \`BENCH_MEMORY_DEVICES=${COUNTS.join(",")} BENCH_MEMORY_SECONDS=${SECONDS}${REPEAT > 1 ? ` BENCH_MEMORY_REPEAT=${REPEAT}` : ""}${process.env.BENCH_MEMORY_EXTRA === "1" ? " BENCH_MEMORY_EXTRA=1" : ""} node bench/edge-memory.mjs\` (also part of \`npm run bench\`)

RSS of the edge after start (before devices) → after ${SECONDS} s of traffic, and the edge's CPU over the traffic:

| devices connected (env-sensor, 1 Hz, QoS 1) | ${VARIANTS.map((v) => v.name).join(" | ")} |
|---|${VARIANTS.map(() => "---").join("|")}|
${rows.map((r) => `| ${r.devices} | ${r.results.map((m) => `${m.idle} → **${m.loaded} MB**, CPU ${m.cpu} %${REPEAT > 1 ? ` (runs: ${m.all.join(", ")} MB)` : ""}`).join(" | ")} |`).join("\n")}

Target: ≤ 96 MB with 1,000 devices at 1 Hz. Load average when this started: ${LOAD_AT_START} (on a busy machine commits slow down
and readings queue in the edge's memory). RSS is read from /proc/PID/status (VmRSS) of the bv-edge process, with the
cloud and the simulator as separate processes.

Where the memory goes (1,000 devices connected, shipped flags; \`/proc/PID/smaps\`, heap snapshots, \`process.memoryUsage\`):
about 46 MB of the RSS is file-backed, mostly the \`node\` binary itself (20 MB of its code and 10 MB of read-only data
such as V8's snapshot are touched; ICU data only 1 MB), the same for any Node program. The rest (~50 MB) is anonymous:
V8's heap (~36 MB in 256 KB pages, ~2 MB of code pages), malloc (~7 MB: SQLite's page cache, OpenSSL, compiler zones) and
thread stacks. The live JS heap after a full GC is ~16 MB before devices connect (5 MB of it module source text, 3 MB
code; 3.5 MB of strings since the agent runs as a bundle, below) and ~30 MB with 1,000 connected: ~11 KB per client (aedes Client, its net.Socket, the pre-parser's GuardedStream
and their stream states, the mqtt-packet parser, the subscription, the retained \`online\` status and will, a keepalive
timer, ~30 closures). Until this round mqtt-packet (aedes' encoder) also built, on the first CONNACK, a cache of 65,536
two-byte Buffers for packet ids (~7 MB of heap); the broker turns it off (edge/src/broker/packet-numbers.ts): 106–107 → 98 MB.
**The agent runs as a bundle** (edge/bundle.mjs, ADR 011): V8 keeps the source text of every module the agent loads;
a heap snapshot with 1,000 devices (tsc's output, unbundled) held 5.7 MB of strings, 1.7 MB of them in 32 module
sources over 20 KB each (zod's core and classic API ~0.9 MB with its locales and JSON-schema code, the generated protobuf
code, grpc-js, mqtt-packet, qlobber with its README in a comment). Bundled, tree-shaken and minified, the same snapshot
holds 3.5 MB of strings and 28.0 MB of live heap instead of 31.2 MB. Identifiers kept (readable stack traces) cost
~2 MB of RSS (97 MB against 95 MB, 3 runs each), so they are minified; \`edge/dist/bin.js\` ships beside the bundle for
readable traces.
V8 keeps a little heap for garbage beyond that: under a steady stream of small allocations (one
parse, one validation, one SQLite insert per reading) V8 grows each young-generation semi-space to 16 MB and lets the
old generation run far ahead of the live data before it collects. The agent holds both down itself while it is not busy
(ADR 012, edge/src/runtime/heap-mode.ts): \`--optimize-for-size\` makes V8 collect the old generation sooner and
\`--semi-space-growth-factor=1\` keeps the young generation at its first 1 MB; \`--max-semi-space-size=8\` (the cap a busy
agent may grow it to) and \`--v8-pool-size=1\` (one V8 helper thread) are on its command line (its shebang, docker-compose.yml,
scripts/system.mjs, the Pi launcher), because V8 reads them only at start. \`--optimize-for-size\` itself is not on the command
line: there it would pin the young generation at 1 MB for good, also while the agent is busy. Compare the CPU column: the
smaller heap is paid for with more frequent collections.
Tried in an earlier round, not shipped (one run each, load ~3–6): \`--bytecode-old-age=1 --flush-baseline-code\` 96–97 MB,
\`--heap-growing-percent=20\` 100 MB, \`--single-threaded-gc\` 100 MB, glibc \`MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072\`
94 MB (beside 98–101 MB for the shipped flags in the same runs): each within the run-to-run noise of a few MB, none measured enough to change
the Pi unit.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Edge memory", body));
process.stdout.write(`${body}\n`);
