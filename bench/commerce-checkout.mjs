// Checkout end to end: BENCH_CONCURRENCY operators place one-line orders back to back for
// BENCH_SECONDS against a cloud whose payment provider is the simulator with BENCH_PAY_LATENCY_MS
// latency; every order runs the whole saga (reserve → authorize → commit stock → capture →
// confirm), so each costs two provider round trips and five transactions.
// Reports confirmed orders/s and request latency p50/p99 per database engine, into bench/RESULTS.md.
// BENCH_PROCESSES=separate (default): the cloud (bench/commerce-cloud.mjs) and the payment
// simulator (`bv-sim payments`) are processes of their own, this one is the load generator, and
// the CPU per order is the cloud process's alone (from /proc). BENCH_PROCESSES=one: all three
// share this process (the CPU per order is then the whole process's).
// BENCH_CLOUD_NODE_ARGS: extra node options for the cloud process (e.g. "--cpu-prof --cpu-prof-dir=DIR").
//   node bench/commerce-checkout.mjs                      (SQLite and, if reachable, PostgreSQL)
//   BENCH_ENGINES=sqlite BENCH_SECONDS=5 node bench/commerce-checkout.mjs
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { loadCloudConfig, startCloud } from "@bitvelocity/cloud";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import pg from "pg";
import { machine, percentile, procSample, replaceSection, resultsFile } from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PAY_LATENCY = Number(process.env.BENCH_PAY_LATENCY_MS ?? 20);
const PG_URL = process.env.BV_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ENGINES = (process.env.BENCH_ENGINES ?? "sqlite,postgres").split(",");
const PROCESSES = process.env.BENCH_PROCESSES ?? "separate";
const CLOUD_NODE_ARGS = (process.env.BENCH_CLOUD_NODE_ARGS ?? "").split(" ").filter(Boolean);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Spawns a node program and resolves with it and the first JSON line it prints that has `field`. */
function spawnNode(args, field) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code} before it listened`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        const msg = JSON.parse(line);
        if (msg[field] !== undefined) resolve({ child, port: msg[field] });
      } catch {}
    });
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Cloud and payment simulator, in this process or as processes of their own. */
async function startSystem(overridesOf) {
  if (PROCESSES === "one") {
    const sim = new PaymentsSimulator({ latencyMs: PAY_LATENCY });
    const simPort = await sim.start(0);
    const cloud = await startCloud(loadCloudConfig(undefined, {}, overridesOf(simPort)), { logger: silentLogger(), processMetrics: false });
    const cpu0 = process.cpuUsage();
    return {
      port: cloud.ports.http,
      cpuMs: () => {
        const c = process.cpuUsage(cpu0);
        return (c.user + c.system) / 1000;
      },
      captures: async () => sim.entries().filter((e) => e.kind === "capture").length,
      stop: async () => {
        await cloud.stop();
        await sim.stop();
      },
    };
  }
  const sim = await spawnNode(["firmware-sim/bin/bv-sim.js", "payments", "--port", "0", "--latency", String(PAY_LATENCY)], "port");
  const cloud = await spawnNode([...CLOUD_NODE_ARGS, "bench/commerce-cloud.mjs", JSON.stringify(overridesOf(sim.port))], "port");
  const cpu0 = procSample(cloud.child.pid).cpuMs;
  const simCpu0 = procSample(sim.child.pid).cpuMs;
  const own0 = process.cpuUsage();
  return {
    port: cloud.port,
    cpuMs: () => procSample(cloud.child.pid).cpuMs - cpu0,
    others: () => {
      const own = process.cpuUsage(own0);
      return { simCpuMs: procSample(sim.child.pid).cpuMs - simCpu0, loadCpuMs: (own.user + own.system) / 1000 };
    },
    captures: async () => {
      const res = await fetch(`http://127.0.0.1:${sim.port}/ledger`);
      const { entries } = await res.json();
      return entries.filter((e) => e.kind === "capture").length;
    },
    stop: async () => {
      await stopChild(cloud.child);
      await stopChild(sim.child);
    },
  };
}

async function pgReachable() {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function run(engine) {
  const dir = mkdtempSync(join(tmpdir(), "bv-bench-commerce-"));
  const schema = `bv_bench_commerce_${randomBytes(4).toString("hex")}`;
  const overridesOf = (simPort) => ({
    data_dir: dir,
    "http.host": "127.0.0.1",
    "http.port": 0,
    "http.insecure": true,
    "grpc.host": "127.0.0.1",
    "grpc.port": 0,
    sites: [{ id: "site-1", name: "Plant 1" }],
    users: [{ username: "olga", role: "operator", password_hash: hashSecret("operator-pass-1", "scrypt") }],
    "admin.password": "admin-password-1",
    commerce: { payments_url: `http://127.0.0.1:${simPort}`, seed_stock: 1_000_000 },
    ...(engine === "postgres" ? { database: { engine: "postgres", url: PG_URL, schema, pool_size: 16 } } : {}),
  });
  const system = await startSystem(overridesOf);
  const base = `http://127.0.0.1:${system.port}`;
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "olga", password: "operator-pass-1" }),
  });
  const token = decodeURIComponent(/bv_session=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1] ?? "");
  const latencies = [];
  const statuses = new Map();
  let n = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = performance.now();
  const cpu0 = system.cpuMs();
  const others0 = system.others?.();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/commerce/orders`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": `bench-${w}-${n++}` },
          body: JSON.stringify({ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 1 }] }),
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuMs = system.cpuMs() - cpu0;
  const others = system.others?.();
  const captures = await system.captures();
  await system.stop();
  rmSync(dir, { recursive: true, force: true });
  if (engine === "postgres") {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
  latencies.sort((a, b) => a - b);
  const confirmed = statuses.get(201) ?? 0;
  return {
    engine,
    confirmed,
    other:
      [...statuses]
        .filter(([s]) => s !== 201)
        .map(([s, c]) => `${c}×${s}`)
        .join(", ") || "none",
    rate: confirmed / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    captures,
    // The cloud's CPU per confirmed order (with PROCESSES=one: the whole process's, load generator
    // and simulator included) bounds what one event loop can confirm (1000 / ms per order).
    cpuMsPerOrder: cpuMs / Math.max(1, confirmed),
    ...(others && others0
      ? {
          simCpuMsPerOrder: (others.simCpuMs - others0.simCpuMs) / Math.max(1, confirmed),
          loadCpuMsPerOrder: (others.loadCpuMs - others0.loadCpuMs) / Math.max(1, confirmed),
        }
      : {}),
  };
}

const load = loadavg()[0].toFixed(2);
const rows = [];
for (const engine of ENGINES) {
  if (engine === "postgres" && !(await pgReachable())) {
    console.log(`postgres: skipped, nothing at ${PG_URL}`);
    continue;
  }
  const r = await run(engine);
  console.log(JSON.stringify(r));
  rows.push(
    `| ${r.engine} | **${r.rate.toFixed(0)} orders/s** | ${r.p50.toFixed(0)} ms / ${r.p99.toFixed(0)} ms | ${r.cpuMsPerOrder.toFixed(1)} ms (≤ ${(1000 / r.cpuMsPerOrder).toFixed(0)} orders/s per event loop)${r.simCpuMsPerOrder === undefined ? "" : `; simulator ${r.simCpuMsPerOrder.toFixed(1)} ms, load generator ${r.loadCpuMsPerOrder.toFixed(1)} ms`} | ${r.confirmed} (${r.captures} captures in the provider's ledger) | ${r.other} |`,
  );
}

const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · Load average at start: ${load}
Command: \`BENCH_PROCESSES=${PROCESSES} BENCH_SECONDS=${SECONDS} BENCH_CONCURRENCY=${CONCURRENCY} BENCH_PAY_LATENCY_MS=${PAY_LATENCY} node bench/commerce-checkout.mjs\`

| database | confirmed orders/s | request latency p50 / p99 | CPU per order (${PROCESSES === "one" ? "whole process" : "cloud process"}) | confirmed orders | other answers |
|---|---|---|---|---|---|
${rows.join("\n")}

How: ${CONCURRENCY} concurrent operators (one HTTP keep-alive client each) post one-line orders with their own
Idempotency-Key, back to back, for ${SECONDS} s. Every order runs the whole checkout saga: reserve stock, authorize,
commit stock, capture, confirm — two calls to the payment simulator (${PAY_LATENCY} ms latency each, over HTTP on
loopback, through cockatiel's retry/breaker/timeout) and five database transactions, each also writing the read models
and the outbox events. ${
  PROCESSES === "one"
    ? "Load generator, cloud and simulator share one Node process and this machine's two cores."
    : "Cloud, payment simulator (`bv-sim payments`) and load generator are three processes on this machine's two cores; the CPU per order is the cloud process's alone (/proc)."
}
Target (issue 13): ≥ 300 confirmed orders/s, p99 ≤ 250 ms on SQLite.`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Commerce checkout", body));
console.log(body);
