// Checkout end to end: BENCH_CONCURRENCY operators place one-line orders back to back for
// BENCH_SECONDS against a cloud (in this process) whose payment provider is the simulator with
// BENCH_PAY_LATENCY_MS latency; every order runs the whole saga (reserve → authorize → commit
// stock → capture → confirm), so each costs two provider round trips and five transactions.
// Reports confirmed orders/s and request latency p50/p99 per database engine, into bench/RESULTS.md.
//   node bench/commerce-checkout.mjs                      (SQLite and, if reachable, PostgreSQL)
//   BENCH_ENGINES=sqlite BENCH_SECONDS=5 node bench/commerce-checkout.mjs
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadCloudConfig, startCloud } from "@bitvelocity/cloud";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import pg from "pg";
import { machine, percentile, replaceSection, resultsFile } from "./lib.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PAY_LATENCY = Number(process.env.BENCH_PAY_LATENCY_MS ?? 20);
const PG_URL = process.env.BV_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ENGINES = (process.env.BENCH_ENGINES ?? "sqlite,postgres").split(",");

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
  const sim = new PaymentsSimulator({ latencyMs: PAY_LATENCY });
  const simPort = await sim.start(0);
  const dir = mkdtempSync(join(tmpdir(), "bv-bench-commerce-"));
  const schema = `bv_bench_commerce_${randomBytes(4).toString("hex")}`;
  const config = loadCloudConfig(
    undefined,
    {},
    {
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
    },
  );
  const cloud = await startCloud(config, { logger: silentLogger(), processMetrics: false });
  const base = `http://127.0.0.1:${cloud.ports.http}`;
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
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  const captures = sim.entries().filter((e) => e.kind === "capture").length;
  await cloud.stop();
  await sim.stop();
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
    // One process holds load generator, cloud and simulator: its CPU per confirmed order bounds
    // what one event loop can confirm (1000 / ms per order) whatever else the machine runs.
    cpuMsPerOrder: (cpu.user + cpu.system) / 1000 / Math.max(1, confirmed),
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
    `| ${r.engine} | **${r.rate.toFixed(0)} orders/s** | ${r.p50.toFixed(0)} ms / ${r.p99.toFixed(0)} ms | ${r.cpuMsPerOrder.toFixed(1)} ms (≤ ${(1000 / r.cpuMsPerOrder).toFixed(0)} orders/s per event loop) | ${r.confirmed} (${r.captures} captures in the provider's ledger) | ${r.other} |`,
  );
}

const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · Load average at start: ${load}
Command: \`BENCH_SECONDS=${SECONDS} BENCH_CONCURRENCY=${CONCURRENCY} BENCH_PAY_LATENCY_MS=${PAY_LATENCY} node bench/commerce-checkout.mjs\`

| database | confirmed orders/s | request latency p50 / p99 | CPU per order (whole process) | confirmed orders | other answers |
|---|---|---|---|---|---|
${rows.join("\n")}

How: ${CONCURRENCY} concurrent operators (one HTTP keep-alive client each) post one-line orders with their own
Idempotency-Key, back to back, for ${SECONDS} s. Every order runs the whole checkout saga: reserve stock, authorize,
commit stock, capture, confirm — two calls to the payment simulator (${PAY_LATENCY} ms latency each, over HTTP on
loopback, through cockatiel's retry/breaker/timeout) and five database transactions, each also writing the read models
and the outbox events. Load generator, cloud and simulator share one Node process and this machine's two cores.
Target (issue 13): ≥ 300 confirmed orders/s, p99 ≤ 250 ms on SQLite.`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Commerce checkout", body));
console.log(body);
