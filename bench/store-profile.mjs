// Where a telemetry store's commit time goes (SQLite; the line-protocol store with BV_VM_URL set): BENCH_READINGS readings (env-sensor, three
// numeric metrics) from 16 edges in batches of BENCH_BATCH, each batch awaited (as one EdgeSync
// stream commits). Run with `node --cpu-prof --cpu-prof-dir=DIR bench/store-profile.mjs`, then
// `node bench/store-profile.mjs --top DIR/*.cpuprofile` prints the top frames by self time.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (process.argv[2] === "--top") {
  const profile = JSON.parse(readFileSync(process.argv[3], "utf8"));
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const n = byNode.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] ?? 15)))
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  process.exit(0);
}

const { SqliteTelemetryStore } = await import("../cloud/dist/telemetry/sqlite-store.js");
const { InfluxTelemetryStore } = await import("../cloud/dist/telemetry/influx-store.js");
const N = Number(process.env.BENCH_READINGS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const EDGES = 16;
const T0 = Date.UTC(2025, 0, 1);
const dir = mkdtempSync(join(tmpdir(), "bv-store-profile-"));
const store = process.env.BV_VM_URL
  ? new InfluxTelemetryStore({
      url: process.env.BV_VM_URL,
      org: "bv",
      bucket: "bench",
      scope: `profile-${Date.now()}`,
      forceFlush: process.env.BENCH_FORCE_FLUSH !== "0",
    })
  : SqliteTelemetryStore.open(dir);
const t = performance.now();
let n = 0;
const perEdge = Math.ceil(N / EDGES);
for (let start = 0; start < perEdge; start += BATCH) {
  for (let e = 1; e <= EDGES; e++) {
    const readings = [];
    for (let i = start; i < Math.min(perEdge, start + BATCH); i++)
      readings.push({
        seq: i + 1,
        deviceId: `env-${e}-${i % 50}`,
        deviceType: "env-sensor",
        values: { temperature: 20 + (i % 7), humidity: 40 + (i % 5), co2: 400 + (i % 100) },
        edgeTimeMs: T0 + i * 1000,
      });
    n += (await store.commitBatch(`edge-${e}`, readings)).inserted;
  }
}
const s = (performance.now() - t) / 1000;
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ readings: n, seconds: Number(s.toFixed(2)), rate: Math.round(n / s) }));
