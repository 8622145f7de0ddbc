// A long outage that overflows the outbox budget, with real processes: bv-sim publishes QoS 1 to
// bv-edge while no cloud runs, far more than the 1 MB budget holds; then bv-cloud starts and the
// edge drains. Every reading the broker acknowledged is in the store exactly once or inside a gap
// record; the gap counts add up to exactly what is missing; the outbox file stayed within budget.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { prepareSystem, type Service, startCloud, startEdge, startSim } from "../../scripts/system.mjs";
import { metricValue, readAckedLog, tempDir, waitFor } from "../e2e/support.js";
import { freePort } from "./ports.js";

const BUDGET_MB = 1;
/** The simulator runs until the edge has evicted this many readings (or for SIM_MAX_SECONDS). */
const EVICTIONS_WANTED = 3000;
const SIM_MAX_SECONDS = 60;

describe("outbox budget under a long outage", () => {
  const services: Service[] = [];
  afterAll(async () => {
    for (const s of services.reverse()) await s.stop();
  });

  it("accounts for every acknowledged reading: stored exactly once, or in a gap record", async () => {
    const grpc = await freePort();
    const prepared = prepareSystem({
      dir: tempDir("overflow"),
      ports: { grpc },
      scenarioOverrides: { duration_s: SIM_MAX_SECONDS, fleets: [{ type: "env-sensor", count: 150, id_prefix: "env-", interval_ms: 50 }] },
      edgeOverrides: { outbox: { budget_mb: BUDGET_MB } },
    });
    // The outage: no cloud on the edge's uplink port.
    const edge = startEdge(prepared, grpc);
    services.push(edge);
    const ports = await edge.ready;
    const sim = startSim(prepared, ports.mqtt as number, { args: ["--quiet"] });
    services.push(sim);
    const outboxFile = join(prepared.dir, "edge-data", "outbox.db");
    let maxFile = 0;
    let maxWal = 0;
    const sampler = setInterval(() => {
      if (existsSync(outboxFile)) maxFile = Math.max(maxFile, statSync(outboxFile).size);
      if (existsSync(`${outboxFile}-wal`)) maxWal = Math.max(maxWal, statSync(`${outboxFile}-wal`).size);
    }, 100);
    const edgeMetrics = async () => (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
    // Publish until the outage has overflowed the budget well beyond what it holds.
    await waitFor(
      "the edge to evict readings",
      async () => ((metricValue(await edgeMetrics(), "bv_edge_evicted_readings_total") ?? 0) >= EVICTIONS_WANTED ? true : undefined),
      SIM_MAX_SECONDS * 1000,
      250,
    );
    await sim.stop();
    clearInterval(sampler);
    const acked = readAckedLog(prepared.files.ackedLog);
    expect(maxFile).toBeLessThanOrEqual(BUDGET_MB * 1024 * 1024 * 1.1);
    expect(maxWal).toBeLessThanOrEqual(5 * 1024 * 1024);

    // The cloud comes back; the edge drains what it kept and forwards its gap records.
    const cloud = startCloud(prepared);
    services.push(cloud);
    await cloud.ready;
    const text = await waitFor(
      "the edge to drain its outbox and control lane",
      async () => {
        const t = await edgeMetrics();
        return metricValue(t, "bv_edge_outbox_readings") === 0 && metricValue(t, "bv_edge_outbox_control_pending") === 0 ? t : undefined;
      },
      60_000,
      250,
    );
    const evicted = metricValue(text, "bv_edge_evicted_readings_total") ?? 0;
    expect(metricValue(text, "bv_edge_gaps_total")).toBeGreaterThan(0);
    await cloud.stop();

    const store = new Database(join(prepared.dir, "cloud-data", "telemetry.db"), { readonly: true });
    const rows = store.prepare("SELECT seq, device_id AS deviceId, ts FROM readings WHERE edge_id = 'edge-1'").all() as {
      seq: number;
      deviceId: string;
      ts: number;
    }[];
    store.close();
    const relational = new Database(join(prepared.dir, "cloud-data", "cloud.db"), { readonly: true });
    const gaps = relational
      .prepare("SELECT lane, first_seq AS firstSeq, last_seq AS lastSeq, count FROM edge_gaps WHERE edge_id = 'edge-1'")
      .all() as {
      lane: string;
      firstSeq: number;
      lastSeq: number;
      count: number;
    }[];
    relational.close();

    const missingCount = gaps.reduce((n, g) => n + g.count, 0);
    // Nothing else is missing, nothing is stored twice.
    expect(rows.length + missingCount).toBe(acked.length);
    expect(missingCount).toBe(evicted);
    const ackedIds = new Set(acked.map((a) => `${a.deviceId}@${a.ts}`));
    expect(rows.every((r) => ackedIds.has(`${r.deviceId}@${r.ts}`))).toBe(true);
    expect(new Set(rows.map((r) => `${r.deviceId}@${r.ts}`)).size).toBe(rows.length);
    // Exactly the gap ranges: no stored seq inside one, and every seq handed out is stored or in one.
    const inGap = (seq: number) => gaps.some((g) => seq >= g.firstSeq && seq <= g.lastSeq);
    expect(rows.filter((r) => inGap(r.seq))).toEqual([]);
    const stored = new Set(rows.map((r) => r.seq));
    const highest = Math.max(...rows.map((r) => r.seq), ...gaps.map((g) => g.lastSeq));
    const unaccounted: number[] = [];
    for (let seq = 1; seq <= highest; seq++) if (!stored.has(seq) && !inGap(seq)) unaccounted.push(seq);
    expect(unaccounted).toEqual([]);
    console.log(
      `budget overflow: ${acked.length} acknowledged, ${rows.length} stored, ${missingCount} in ${gaps.length} gap records; ` +
        `outbox file peaked at ${(maxFile / 1024).toFixed(0)} KiB (budget ${BUDGET_MB * 1024} KiB), WAL at ${(maxWal / 1024).toFixed(0)} KiB`,
    );
  }, 150_000);
});
