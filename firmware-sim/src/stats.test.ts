import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AckedLog } from "./acked-log.js";
import { Rng } from "./prng.js";
import { LatencyHistogram } from "./stats.js";

describe("LatencyHistogram", () => {
  it("reports quantiles within the bucket width (2%) of the exact ones", () => {
    const rng = Rng.from(1, "latency");
    const samples = Array.from({ length: 20_000 }, () => Math.exp(rng.gaussian(1)) * 3);
    const h = new LatencyHistogram();
    for (const s of samples) h.record(s);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.025);
    }
    expect(h.summary().count).toBe(20_000);
    expect(h.summary().max).toBeCloseTo(Math.max(...samples), 1);
  });

  it("is all zeros when empty and handles sub-millisecond and zero latencies", () => {
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    const h = new LatencyHistogram();
    h.record(0);
    h.record(0.05);
    h.record(-3);
    expect(h.quantile(1)).toBeLessThanOrEqual(0.1);
  });
});

describe("AckedLog", () => {
  it("appends one JSON line per record, flushed at close, and ignores writes after close", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "bv-sim-log-")), "acked.jsonl");
    const log = new AckedLog(file);
    for (let n = 1; n <= 5000; n++) log.write({ deviceId: "env-0001", n, ts: 1_800_000_000_000 + n, values: { co2: n } });
    await log.close();
    log.write({ deviceId: "env-0001", n: 5001, ts: 1, values: {} });
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines.length).toBe(5000);
    expect(JSON.parse(lines[4999]!)).toEqual({ deviceId: "env-0001", n: 5000, ts: 1_800_000_005_000, values: { co2: 5000 } });
    // appending, not truncating
    const again = new AckedLog(file);
    again.write({ deviceId: "env-0002", n: 1, ts: 2, values: { co2: 1 } });
    await again.close();
    expect(readFileSync(file, "utf8").trimEnd().split("\n").length).toBe(5001);
  });

  it("refuses at once a file that cannot be opened", () => {
    expect(() => new AckedLog(join(tmpdir(), "no-such-dir-bv-sim", "x", "acked.jsonl"))).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });
});
