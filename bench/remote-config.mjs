// Remote configuration: how long from an admin's Save to the edge's report, for a change applied hot
// (a device list) and for one that needs a controlled restart (the outbox's commit window: the agent
// exits 75 and is started again, as systemd does, here without systemd's RestartSec). Cloud and edge
// are real processes. Writes the section "Remote configuration" of bench/RESULTS.md.
// Usage: node bench/remote-config.mjs (BENCH_ROUNDS, default 5)
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { prepareSystem, ROOT, startCloud, startEdge } from "../scripts/system.mjs";
import { machine, percentile, replaceSection, resultsFile } from "./lib.mjs";

const { hashSecret } = await import(join(ROOT, "common/dist/index.js"));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

const prepared = prepareSystem({
  dir: mkdtempSync(join(tmpdir(), "bv-bench-rcfg-")),
  scenarioOverrides: { fleets: [{ type: "env-sensor", count: 2, id_prefix: "env-", interval_ms: 1000 }] },
  edgeOverrides: { uplink: { backoff_initial_ms: 100, backoff_max_ms: 1000 } },
});
const cloud = startCloud(prepared);
const cp = await cloud.ready;
const base = `http://127.0.0.1:${cp.http}`;
let edge;
let stopping = false;
const supervise = () => {
  edge = startEdge(prepared, cp.grpc);
  void edge.exited.then(({ code }) => {
    if (!stopping && code === 75) supervise();
  });
};
supervise();
await edge.ready;

const login = await fetch(`${base}/api/auth/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "admin", password: prepared.secrets.adminPassword }),
});
const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
const api = async (method, body) => {
  const res = await fetch(`${base}/api/edges/edge-1/config`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} → ${res.status} ${await res.text()}`);
  return res.json();
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
while ((await api("GET")).runningVersion !== 0) await sleep(50);

async function round(doc) {
  const t0 = performance.now();
  const { version } = await api("POST", { yaml: stringify(doc) });
  for (;;) {
    const v = (await api("GET")).versions.find((x) => x.version === version.version);
    if (v.state !== "pending") {
      if (v.state !== "applied") throw new Error(`version ${v.version}: ${v.state} ${v.problems.join("; ")}`);
      return { ms: performance.now() - t0, restarted: v.restarted };
    }
    await sleep(20);
  }
}

const hot = [];
const restart = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    const devices = [{ id: `bench-${i}`, type: "env-sensor", secret_hash: hashSecret(`bench-${i}`) }];
    const outbox = { commit_interval_ms: 10 + (i % 2) };
    const h = await round({ devices, outbox });
    if (h.restarted) throw new Error("expected a hot apply");
    hot.push(h.ms);
    const r = await round({ devices, outbox: { commit_interval_ms: 10 + ((i + 1) % 2) } });
    if (!r.restarted) throw new Error("expected a restart");
    restart.push(r.ms);
  }
} finally {
  stopping = true;
  await edge.stop();
  await cloud.stop();
}

const fmt = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 **${Math.round(percentile(s, 50))} ms**, max ${Math.round(s.at(-1))} ms`;
};
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · load average at start: ${load}
Command: \`node bench/remote-config.mjs\` (BENCH_ROUNDS=${ROUNDS})

From \`POST /api/edges/{id}/config\` to the edge's \`ConfigReport\` stored in the cloud (the dashboard polls it),
real bv-cloud and bv-edge processes:

| change | applied | save → applied |
|---|---|---|
| a device added (devices list) | hot | ${fmt(hot)} |
| \`outbox.commit_interval_ms\` | controlled restart (exit 75, started again at once) | ${fmt(restart)} |

Under systemd the restart adds \`RestartSec\` (5 s in bv-edge.service).`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Remote configuration", body));
process.stdout.write(`${body}\n`);
