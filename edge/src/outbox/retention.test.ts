import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBvError } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeControlBody } from "./control-body.js";
import { Outbox, type OutboxOptions } from "./outbox.js";
import type { FullPolicy } from "./retention.js";
import type { GapRecordInput, Lane as LaneName } from "./types.js";

let dir: string;
let clockMs: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-retention-"));
  clockMs = Date.UTC(2026, 0, 1);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const BUDGET = 256 * 1024;
const clock = { now: () => clockMs, uptimeMs: () => 1 };

function open(telemetry: FullPolicy, extra: Partial<OutboxOptions> = {}): Outbox {
  return Outbox.open({
    dir,
    bootId: "boot-r",
    clock,
    commitIntervalMs: 1,
    budgetBytes: BUDGET,
    lanes: { telemetry: { policy: telemetry, ttlMs: 0 }, alarm: { policy: "drop-oldest", ttlMs: 0 } },
    registry: new Registry(),
    ...extra,
  });
}

/** A reading of about 200 record bytes. */
const reading = (i: number, lane: LaneName = "telemetry") => ({
  deviceId: `dev-${i % 7}`,
  deviceType: "env-sensor",
  values: { temperature: i % 80, note: "x".repeat(100) },
  lane,
});

function gaps(outbox: Outbox): GapRecordInput[] {
  return outbox
    .peekControl(100_000)
    .filter((c) => c.kind === "gap")
    .map((c) => decodeControlBody(c.body) as GapRecordInput);
}

/** Appends n readings in commits of `per` (as devices would), keeping what each append resolved to. */
async function fill(outbox: Outbox, n: number, per = 50, lane: LaneName = "telemetry") {
  const accepted: number[] = [];
  const refused: unknown[] = [];
  for (let i = 0; i < n; i += per) {
    const results = await Promise.allSettled(Array.from({ length: Math.min(per, n - i) }, (_, k) => outbox.append(reading(i + k, lane))));
    for (const r of results) r.status === "fulfilled" ? accepted.push(r.value) : refused.push(r.reason);
    clockMs += 1000;
  }
  return { accepted, refused };
}

function inGap(seq: number, all: GapRecordInput[], lane: LaneName): boolean {
  return all.some((g) => g.lane === lane && seq >= g.firstSeq && seq <= g.lastSeq);
}

describe("Outbox budget and lane policies", () => {
  it("drop-oldest: stays within the budget; every accepted reading is stored or in exactly one gap record", async () => {
    const outbox = open("drop-oldest");
    const { accepted, refused } = await fill(outbox, 6000);
    expect(refused).toEqual([]);
    const stats = outbox.stats();
    expect(stats.diskBytes).toBeLessThanOrEqual(BUDGET);
    expect(statSync(join(dir, "outbox.db")).size).toBeLessThanOrEqual(BUDGET * 1.25);
    const stored = new Set(outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq));
    const all = gaps(outbox);
    expect(all.length).toBeGreaterThan(0);
    const missing = accepted.filter((s) => !stored.has(s));
    // Exactly the gap ranges: each missing seq in a gap, the counts add up, the kept ones are the newest.
    expect(missing.every((s) => inGap(s, all, "telemetry"))).toBe(true);
    expect(all.reduce((n, g) => n + g.count, 0)).toBe(missing.length);
    expect([...stored].every((s) => !inGap(s, all, "telemetry"))).toBe(true);
    expect(Math.min(...stored)).toBeGreaterThan(Math.max(...missing));
    expect(all.every((g) => g.reason === "budget" && g.fromTimeMs <= g.toTimeMs)).toBe(true);
    expect(stats.evictedReadings).toBe(missing.length);
    expect(stats.gaps).toBe(all.length);
    // The running counts (counted down by each eviction, not re-read) are what the table holds.
    expect(stats.readings).toBe(stored.size);
    expect(stats.bytes).toBe(outbox.peek({ limit: 100_000, maxBytes: 1e12 }).reduce((n, r) => n + r.bytes, 0));
    outbox.close();
  });

  it("drop-newest: keeps the oldest, accounts for the dropped ones with reserved seqs", async () => {
    const outbox = open("drop-newest");
    const { accepted, refused } = await fill(outbox, 4000);
    expect(refused).toEqual([]);
    const stored = outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq);
    const all = gaps(outbox);
    const missing = accepted.filter((s) => !stored.includes(s));
    expect(missing.length).toBeGreaterThan(0);
    expect(outbox.stats().readings).toBe(stored.length);
    expect(stored[0]).toBe(accepted[0]);
    expect(missing.every((s) => inGap(s, all, "telemetry"))).toBe(true);
    expect(all.reduce((n, g) => n + g.count, 0)).toBe(missing.length);
    // Seqs stay unique: a dropped reading's seq is never given to a stored one.
    expect(new Set(accepted).size).toBe(accepted.length);
    outbox.close();
  });

  it("reject: refuses with OUTBOX_FULL (devices keep their data) and accepts again once acks free room", async () => {
    const outbox = open("reject");
    const { accepted, refused } = await fill(outbox, 4000);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => isBvError(e, "OUTBOX_FULL"))).toBe(true);
    expect(gaps(outbox)).toEqual([]);
    expect(outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq)).toEqual(accepted);
    expect(outbox.stats().alarms.some((a) => a.startsWith("OUTBOX_FULL"))).toBe(true);
    outbox.ack(accepted.slice(0, 500));
    await expect(outbox.append(reading(1))).resolves.toBeGreaterThan(0);
    expect(outbox.stats().alarms).toEqual([]);
    outbox.close();
  });

  it("telemetry never evicts the alarm lane, and the control lane is never evicted", async () => {
    const outbox = open("drop-oldest");
    const alarms = await fill(outbox, 300, 50, "alarm");
    const id = outbox.appendControl("commandResult", new Uint8Array([1, 2, 3]));
    await fill(outbox, 6000);
    const stored = new Set(outbox.peek({ limit: 100_000, maxBytes: 1e12, lane: "alarm" }).map((r) => r.seq));
    expect(alarms.accepted.every((s) => stored.has(s))).toBe(true);
    expect(outbox.peekControl(10).map((c) => c.id)).toContain(id);
    expect(gaps(outbox).every((g) => g.lane === "telemetry")).toBe(true);
    outbox.close();
  });

  it("does not evict readings in flight to the cloud", async () => {
    const outbox = open("drop-oldest");
    const first = await fill(outbox, 200);
    const protectedSeqs = new Set(first.accepted.slice(0, 100));
    outbox.protectInFlight((seq) => protectedSeqs.has(seq));
    await fill(outbox, 6000);
    const stored = new Set(outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq));
    expect([...protectedSeqs].every((s) => stored.has(s))).toBe(true);
    expect([...protectedSeqs].some((s) => inGap(s, gaps(outbox), "telemetry"))).toBe(false);
    outbox.close();
  });

  it("TTL: readings older than their lane's TTL leave with a gap record; unsynchronised ones wait", async () => {
    const outbox = open("drop-oldest", {
      lanes: { telemetry: { policy: "drop-oldest", ttlMs: 3_600_000 }, alarm: { policy: "drop-oldest", ttlMs: 0 } },
    });
    const old = await fill(outbox, 100);
    clockMs += 2 * 3_600_000;
    const fresh = await fill(outbox, 100);
    outbox.maintain();
    const stored = outbox.peek({ limit: 100_000, maxBytes: 1e12 }).map((r) => r.seq);
    expect(stored).toEqual(fresh.accepted);
    const all = gaps(outbox);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ reason: "ttl", count: 100, firstSeq: old.accepted[0], lastSeq: old.accepted[99] });
    outbox.close();
  });

  it("keeps the budget and the gap records across a restart", async () => {
    let outbox = open("drop-oldest");
    const before = await fill(outbox, 5000);
    const gapsBefore = gaps(outbox).length;
    outbox.close();
    outbox = open("drop-oldest");
    expect(gaps(outbox)).toHaveLength(gapsBefore);
    const after = await fill(outbox, 1000);
    expect(Math.min(...after.accepted)).toBeGreaterThan(Math.max(...before.accepted));
    expect(outbox.stats().diskBytes).toBeLessThanOrEqual(BUDGET);
    outbox.close();
  });
});
