import { execFileSync } from "node:child_process";
import { silentLogger } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BUSY_SAMPLES, HeapModeController, HeapModePolicy, heapFlags, IDLE_SAMPLES, launchedByAgent, REENTER_BELOW } from "./heap-mode.js";

const busy = (rssMb = 80) => ({ utilization: 0.95, rssMb });
const idle = (rssMb = 80) => ({ utilization: 0.1, rssMb });

describe("HeapModePolicy", () => {
  it("goes busy after consecutive busy samples, and back after consecutive idle ones", () => {
    const p = new HeapModePolicy(160);
    for (let i = 1; i < BUSY_SAMPLES; i++) expect(p.next(busy())).toBeUndefined();
    expect(p.next(idle())).toBeUndefined(); // the run is broken: start again
    for (let i = 1; i < BUSY_SAMPLES; i++) p.next(busy());
    expect(p.next(busy())).toBe("busy");
    expect(p.mode).toBe("busy");
    for (let i = 1; i < IDLE_SAMPLES; i++) expect(p.next(idle())).toBeUndefined();
    expect(p.next({ utilization: 0.6, rssMb: 80 })).toBeUndefined(); // between the thresholds: neither
    for (let i = 1; i < IDLE_SAMPLES; i++) p.next(idle());
    expect(p.next(idle())).toBe("idle");
    expect(p.mode).toBe("compact");
  });

  it("leaves busy at the RSS limit and stays compact until the RSS is well under it", () => {
    const p = new HeapModePolicy(100);
    for (let i = 0; i < BUSY_SAMPLES; i++) p.next(busy(90));
    expect(p.mode).toBe("busy");
    expect(p.next(busy(100))).toBe("rss");
    expect(p.mode).toBe("compact");
    for (let i = 0; i < 10; i++) expect(p.next(busy(100 * REENTER_BELOW + 1))).toBeUndefined();
    // Busy all along: the first sample with room enough goes busy again.
    expect(p.next(busy(100 * REENTER_BELOW - 1))).toBe("busy");
  });

  it("never goes busy at or over the limit", () => {
    const p = new HeapModePolicy(100);
    for (let i = 0; i < 10; i++) expect(p.next(busy(100))).toBeUndefined();
  });
});

describe("HeapModeController", () => {
  const spin = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  const turn = () => new Promise((r) => setTimeout(r, 0));

  it("sets V8's flags from the event loop's load and counts the changes", async () => {
    const registry = new Registry();
    const set: string[] = [];
    const c = new HeapModeController({
      adaptive: true,
      rssLimitMb: 65_536,
      registry,
      logger: silentLogger(),
      sampleMs: 40,
      setFlags: (f) => set.push(f),
    });
    try {
      // Block the loop most of each sample period: utilization near 1.
      for (let i = 0; i < 10 && c.mode === "compact"; i++) {
        spin(60);
        await turn();
      }
      expect(c.mode).toBe("busy");
      expect(set).toEqual([heapFlags("busy")]);
      await new Promise((r) => setTimeout(r, 40 * (IDLE_SAMPLES + 4)));
      expect(c.mode).toBe("compact");
      expect(set).toEqual([heapFlags("busy"), heapFlags("compact")]);
      const text = await registry.metrics();
      expect(text).toMatch(/bv_edge_heap_mode_changes_total\{reason="busy"\} 1/);
      expect(text).toMatch(/bv_edge_heap_mode_changes_total\{reason="idle"\} 1/);
      expect(text).toMatch(/bv_edge_heap_busy 0/);
    } finally {
      c.stop();
    }
  });

  it("does not sample when not adaptive", async () => {
    const set: string[] = [];
    const c = new HeapModeController({
      adaptive: false,
      rssLimitMb: 160,
      registry: new Registry(),
      logger: silentLogger(),
      sampleMs: 10,
      setFlags: (f) => set.push(f),
    });
    spin(50);
    await new Promise((r) => setTimeout(r, 50));
    c.stop();
    expect(c.mode).toBe("compact");
    expect(set).toEqual([]);
  });

  it("is adaptive only in a process started by the agent's launchers", () => {
    expect(launchedByAgent(["--max-semi-space-size=4", "--v8-pool-size=1"])).toBe(true);
    expect(launchedByAgent([])).toBe(false);
    expect(launchedByAgent(["--inspect"])).toBe(false);
  });
});

/** The launchers' flags (bin.ts' shebang, the Pi unit, compose, scripts/system.mjs). */
const LAUNCH_FLAGS = ["--max-semi-space-size=8", "--v8-pool-size=1"];

/**
 * In a child process started as the agent is (the launchers' flags, then compact), collections of
 * `kind` for the same `work` (JS source of a function body; `keep` is an array it may hold on to
 * across both runs) while compact, then while busy.
 */
function collections(kind: "MAJOR" | "MINOR", work: string): { compact: number; busy: number } {
  const script = `
    const { PerformanceObserver, constants } = require("node:perf_hooks");
    const { setFlagsFromString } = require("node:v8");
    let seen = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_${kind}) seen++; }).observe({ entryTypes: ["gc"] });
    const keep = [];
    function work() { ${work} }
    const count = (then) => setTimeout(() => { const m = seen; seen = 0; then(m); }, 20);
    setFlagsFromString(${JSON.stringify(heapFlags("compact"))});
    work();
    count((compact) => {
      setFlagsFromString(${JSON.stringify(heapFlags("busy"))});
      work();
      count((busy) => process.stdout.write(JSON.stringify({ compact, busy })));
    });`;
  return JSON.parse(execFileSync(process.execPath, [...LAUNCH_FLAGS, "-e", script], { encoding: "utf8" }));
}

describe("the flags in a running V8", () => {
  it("take effect after start: busy runs far fewer full collections for the same work", () => {
    // The same allocation twice, a sliding window of survivors: before and after the flags change.
    const { compact, busy } = collections(
      "MAJOR",
      `for (let n = 0; n < 6000; n++) { const a = []; for (let i = 0; i < 500; i++) a.push({ i, s: "x" + i }); keep.push(a); if (keep.length > 400) keep.shift(); }`,
    );
    expect(compact).toBeGreaterThan(4);
    expect(busy * 2).toBeLessThanOrEqual(compact);
  });

  it("keep the young generation small while compact and let it grow while busy (up to the launchers' cap)", () => {
    // Scavenges for the same allocation (a queue of survivors, as uncommitted readings are).
    const { compact, busy } = collections(
      "MINOR",
      `for (let i = 0; i < 2e6; i++) { keep.push({ i, s: "x" + i }); if (keep.length > 2000) keep.length = 0; }`,
    );
    expect(busy * 2).toBeLessThanOrEqual(compact);
  });
});
