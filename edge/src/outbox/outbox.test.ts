import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isBvError } from "@bitvelocity/common";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "./outbox.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-outbox-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const reading = (i: number) => ({ deviceId: `dev-${i % 3}`, deviceType: "env-sensor", values: { temperature: i } });

async function metric(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}

describe("Outbox", () => {
  it("assigns increasing seqs and returns readings in order with their metadata", async () => {
    const outbox = Outbox.open({ dir, bootId: "boot-1", clock: { now: () => Date.UTC(2025, 0, 1), uptimeMs: () => 1234.4 } });
    const seqs = await Promise.all([0, 1, 2].map((i) => outbox.append(reading(i))));
    expect(seqs[1]).toBe((seqs[0] as number) + 1);
    const peeked = outbox.peek({ limit: 10, maxBytes: 1e6 });
    expect(peeked.map((r) => r.seq)).toEqual(seqs);
    expect(peeked[2]).toMatchObject({
      deviceId: "dev-2",
      values: { temperature: 2 },
      bootId: "boot-1",
      uptimeMs: 1234,
      clockSynced: true,
      lane: "telemetry",
    });
    expect(outbox.peek({ limit: 10, maxBytes: 1e6, afterSeq: seqs[1] }).map((r) => r.seq)).toEqual([seqs[2]]);
    outbox.close();
  });

  it("gives every reading of a large group commit its own seq, in append order, across the multi-row inserts", async () => {
    // 149 readings = statements of 128 + 16 + 4 + 1 rows, with a dead letter and the alarm lane in between.
    const outbox = Outbox.open({ dir, bootId: "b", batchSize: 1000, maxPending: 1000 });
    const appends: Promise<number>[] = [];
    let deadLetter: Promise<void> | undefined;
    for (let i = 0; i < 149; i++) {
      appends.push(outbox.append({ ...reading(i), ...(i % 10 === 0 ? { lane: "alarm" as const } : {}) }));
      if (i === 70) deadLetter = outbox.deadLetter({ deviceId: "dev-0", topic: "t", payload: new Uint8Array([1]), reason: "bad" });
    }
    const seqs = await Promise.all(appends);
    await deadLetter;
    const first = seqs[0] as number;
    expect(seqs).toEqual(seqs.map((_, i) => first + i));
    const peeked = outbox.peek({ limit: 1000, maxBytes: 1e9 });
    expect(peeked.map((r) => r.seq)).toEqual(seqs);
    expect(peeked.map((r) => r.values.temperature)).toEqual(seqs.map((_, i) => i));
    expect(peeked.filter((r) => r.lane === "alarm").map((r) => r.values.temperature)).toEqual([
      0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140,
    ]);
    expect(outbox.stats().readings).toBe(149);
    expect(outbox.stats().deadLetters).toBe(1);
    // The next commit continues after them.
    expect(await outbox.append(reading(149))).toBe(first + 149);
    outbox.close();
  });

  it("marks readings taken with an unsynchronised clock", async () => {
    const outbox = Outbox.open({ dir, bootId: "b", clock: { now: () => 5_000, uptimeMs: () => 1 } });
    await outbox.append({ ...reading(1), deviceTimeMs: 99 });
    expect(outbox.peek({ limit: 1, maxBytes: 1e6 })[0]).toMatchObject({ clockSynced: false, deviceTimeMs: 99, edgeTimeMs: 5_000 });
    outbox.close();
  });

  it("bounds peek by bytes but always returns at least one reading", async () => {
    const outbox = Outbox.open({ dir, bootId: "b" });
    await Promise.all([1, 2, 3].map((i) => outbox.append(reading(i))));
    const one = outbox.peek({ limit: 10, maxBytes: 1 });
    expect(one).toHaveLength(1);
    const size = one[0]!.bytes;
    expect(outbox.peek({ limit: 10, maxBytes: size * 2 })).toHaveLength(2);
    outbox.close();
  });

  it("acks delete readings, keep counters right, and never reuse seqs after restart", async () => {
    const registry = new Registry();
    let outbox = Outbox.open({ dir, bootId: "b", registry });
    const seqs = await Promise.all([1, 2, 3].map((i) => outbox.append(reading(i))));
    expect(outbox.stats().readings).toBe(3);
    outbox.ack([seqs[2]!, 999_999]);
    expect(outbox.stats().readings).toBe(2);
    expect(await metric(registry, "bv_edge_outbox_readings")).toBe(2);
    outbox.ack([seqs[0]!, seqs[1]!]);
    expect(outbox.stats()).toMatchObject({ readings: 0, bytes: 0, oldestAgeSeconds: 0 });
    outbox.close();
    outbox = Outbox.open({ dir, bootId: "b2" });
    const next = await outbox.append(reading(4));
    expect(next).toBeGreaterThan(seqs[2]!);
    expect(outbox.stats().readings).toBe(1);
    outbox.close();
  });

  it("moves readings the cloud rejected to dead letters with the reason", async () => {
    const outbox = Outbox.open({ dir, bootId: "b" });
    const [a, b] = await Promise.all([outbox.append(reading(1)), outbox.append(reading(2))]);
    outbox.reject([
      { seq: a!, reason: "temperature out of range" },
      { seq: 424242, reason: "unknown" },
    ]);
    expect(outbox.peek({ limit: 10, maxBytes: 1e6 }).map((r) => r.seq)).toEqual([b]);
    expect(outbox.stats().deadLetters).toBe(1);
    outbox.close();
    const db = new Database(join(dir, "outbox.db"), { readonly: true });
    expect(db.prepare("SELECT seq, reason, device_id FROM dead_letters").all()).toEqual([
      { seq: a, reason: "temperature out of range", device_id: "dev-1" },
    ]);
    db.close();
  });

  it("group-commits many concurrent appends in few transactions and fires onAppended", async () => {
    const registry = new Registry();
    const outbox = Outbox.open({ dir, bootId: "b", commitIntervalMs: 20, registry });
    let fired = 0;
    outbox.onAppended(() => fired++);
    const seqs = await Promise.all(Array.from({ length: 500 }, (_, i) => outbox.append(reading(i))));
    expect(new Set(seqs).size).toBe(500);
    const commits = await metric(registry, "bv_edge_outbox_commits_total");
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(3);
    expect(fired).toBe(commits);
    expect(await metric(registry, "bv_edge_bytes_written_total")).toBe(outbox.stats().bytesWritten);
    outbox.close();
  });

  it("refuses appends beyond max_pending with OUTBOX_BUSY, and after close with OUTBOX_CLOSED", async () => {
    const outbox = Outbox.open({ dir, bootId: "b", commitIntervalMs: 50, maxPending: 5 });
    const ok = Array.from({ length: 5 }, (_, i) => outbox.append(reading(i)));
    const busy = await outbox.append(reading(6)).catch((e: unknown) => e);
    expect(isBvError(busy, "OUTBOX_BUSY")).toBe(true);
    await Promise.all(ok);
    outbox.close();
    const closed = await outbox.append(reading(7)).catch((e: unknown) => e);
    expect(isBvError(closed, "OUTBOX_CLOSED")).toBe(true);
  });

  it("close() commits what is still queued", async () => {
    const outbox = Outbox.open({ dir, bootId: "b", commitIntervalMs: 1000 });
    const pending = outbox.append(reading(1));
    outbox.close();
    await expect(pending).resolves.toBeTypeOf("number");
    const reopened = Outbox.open({ dir, bootId: "b" });
    expect(reopened.stats().readings).toBe(1);
    reopened.close();
  });

  it("records dead letters durably with a reason label", async () => {
    const registry = new Registry();
    const outbox = Outbox.open({ dir, bootId: "b", registry });
    await outbox.deadLetter({ deviceId: "d", topic: "bv/d/telemetry", payload: Buffer.from("{bad"), reason: "not JSON" });
    expect(outbox.stats().deadLetters).toBe(1);
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === "bv_edge_dead_letters_total");
    expect(m?.values).toEqual([expect.objectContaining({ value: 1, labels: { reason: "invalid_payload" } })]);
    outbox.close();
  });

  it("rejects appends with OUTBOX_WRITE_FAILED when the commit fails", async () => {
    const outbox = Outbox.open({ dir, bootId: "b" });
    // Sabotage the database from a second connection: the next commit cannot insert.
    const other = new Database(join(dir, "outbox.db"));
    other.exec("DROP TABLE readings");
    other.close();
    const err = await outbox.append(reading(1)).catch((e: unknown) => e);
    expect(isBvError(err, "OUTBOX_WRITE_FAILED")).toBe(true);
    outbox.close();
  });
});

describe("Outbox crash safety", () => {
  it("keeps every reading whose append resolved when the process is killed with SIGKILL", async () => {
    // The child runs the real Outbox as built (`npm test` builds before it runs the tests).
    const outboxModule = pathToFileURL(resolve(import.meta.dirname, "../../dist/outbox/outbox.js")).href;
    const bundle = join(dir, "child.mjs");
    writeFileSync(
      bundle,
      `import { Outbox } from ${JSON.stringify(outboxModule)};
       const outbox = Outbox.open({ dir: process.argv[2], bootId: "child", commitIntervalMs: 5 });
       let i = 0;
       const tick = () => { for (let k = 0; k < 20; k++) { const n = i++;
         outbox.append({ deviceId: "d", deviceType: "env-sensor", values: { temperature: n % 80 } })
           .then((seq) => process.stdout.write(seq + "\\n")); } setTimeout(tick, 1); };
       tick();`,
    );
    const data = join(dir, "data");
    const child = spawn(process.execPath, [bundle, data], { stdio: ["ignore", "pipe", "inherit"] });
    const acked: number[] = [];
    let buffer = "";
    await new Promise<void>((done, fail) => {
      child.once("exit", (code) => fail(new Error(`child exited early with ${code}`)));
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) acked.push(Number(line));
        if (acked.length >= 300) done();
      });
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const outbox = Outbox.open({ dir: data, bootId: "after" });
    const stored = new Set(outbox.peek({ limit: 1_000_000, maxBytes: 1e12 }).map((r) => r.seq));
    const missing = acked.filter((s) => !stored.has(s));
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(missing).toEqual([]);
    outbox.close();
  });
});
