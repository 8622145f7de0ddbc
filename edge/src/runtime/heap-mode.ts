/**
 * How much garbage V8 may keep before a full collection, following the agent's load (ADR 012).
 *
 * - **compact** (at start, and whenever the agent is not busy): the shipped flags,
 *   `--optimize-for-size` (V8 collects the old generation soon after it grows, and compacts it).
 *   A site at its usual rate (1,000 devices at 1 Hz) stays within the Pi's memory budget.
 * - **busy**: when the event loop has been busy ≥ `BUSY_UTILIZATION` for `BUSY_SAMPLES` samples
 *   in a row (a flood, a backlog drain: the CPU is what bounds the agent) and the RSS is below
 *   `memory.rss_limit_mb`, V8 may let the old generation grow `BUSY_GROWTH_PERCENT` over what
 *   survived the last full collection: full collections run a fraction as often, and each reading
 *   costs less CPU (bench/RESULTS.md, "Edge CPU per reading"). Back to compact when the RSS
 *   reaches the limit, or after `IDLE_SAMPLES` samples under `IDLE_UTILIZATION`.
 *
 * V8 reads both flags at every collection, so they can change in a running process
 * (`v8.setFlagsFromString`; heap-mode.test.ts checks that the change takes effect). The young
 * generation's cap is fixed when V8 starts, and `--optimize-for-size` on the command line pins it
 * to its smallest (1 MB semi-spaces: under a flood a scavenge every few milliseconds, each copying
 * the readings still waiting for their commit). So the launchers (bin.ts, the Pi unit, compose)
 * pass only `--max-semi-space-size=8` and `--v8-pool-size=1`, and the agent sets compact itself
 * before it reads its configuration (start-compact.ts, bin.ts' first import). How far V8 grows
 * the young generation under that cap is read at every scavenge (`--semi-space-growth-factor`):
 * compact keeps it where it is, busy lets it double. V8
 * does not shrink it again while the agent allocates more than ~1 MB/s, so after a busy spell at a
 * large site the young generation may stay grown (up to 16 MB, within `memory.rss_limit_mb`).
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import type { Logger } from "@bitvelocity/common";
import { Counter, Gauge, type Registry } from "prom-client";
import { type HeapMode, heapFlags } from "./heap-flags.js";

export { BUSY_GROWTH_PERCENT, type HeapMode, heapFlags, launchedByAgent } from "./heap-flags.js";

export const BUSY_UTILIZATION = 0.8;
export const BUSY_SAMPLES = 2;
export const IDLE_UTILIZATION = 0.5;
export const IDLE_SAMPLES = 5;
/** After the RSS limit ended a busy spell, busy waits until the RSS is this far under the limit. */
export const REENTER_BELOW = 0.85;

export interface HeapSample {
  /** Event-loop utilization since the previous sample, 0–1. */
  readonly utilization: number;
  readonly rssMb: number;
}

/** The decision alone (no timers, no V8): the mode after a sample. */
export class HeapModePolicy {
  mode: HeapMode = "compact";
  private busyRun = 0;
  private idleRun = 0;
  private cooledBy: "rss" | undefined;

  constructor(private readonly rssLimitMb: number) {}

  /** Returns why the mode changed, or undefined if it did not. */
  next(s: HeapSample): "busy" | "rss" | "idle" | undefined {
    if (this.mode === "busy") {
      if (s.rssMb >= this.rssLimitMb) return this.to("compact", "rss");
      this.idleRun = s.utilization < IDLE_UTILIZATION ? this.idleRun + 1 : 0;
      return this.idleRun >= IDLE_SAMPLES ? this.to("compact", "idle") : undefined;
    }
    if (this.cooledBy === "rss" && s.rssMb < this.rssLimitMb * REENTER_BELOW) this.cooledBy = undefined;
    this.busyRun = s.utilization >= BUSY_UTILIZATION ? this.busyRun + 1 : 0;
    const room = this.cooledBy === undefined && s.rssMb < this.rssLimitMb;
    return this.busyRun >= BUSY_SAMPLES && room ? this.to("busy", "busy") : undefined;
  }

  private to<R extends "busy" | "rss" | "idle">(mode: HeapMode, reason: R): R {
    this.mode = mode;
    this.busyRun = 0;
    this.idleRun = 0;
    this.cooledBy = reason === "rss" ? "rss" : undefined;
    return reason;
  }
}

export interface HeapModeOptions {
  /** memory.adaptive_heap: false keeps the heap compact. */
  readonly adaptive: boolean;
  readonly rssLimitMb: number;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly sampleMs?: number;
  /** How the flags are set (tests record them instead of changing their own process). */
  readonly setFlags?: (flags: string) => void;
}

/** Samples the event loop and the RSS every second and sets V8's heap growth for the mode. */
export class HeapModeController {
  private readonly policy: HeapModePolicy;
  private readonly timer: NodeJS.Timeout | undefined;
  private last = performance.eventLoopUtilization();
  private readonly modeGauge: Gauge;
  private readonly switches: Counter<"reason">;

  constructor(private readonly options: HeapModeOptions) {
    this.policy = new HeapModePolicy(options.rssLimitMb);
    this.modeGauge = new Gauge({
      name: "bv_edge_heap_busy",
      help: "1 while V8's heap may grow for throughput (the agent is busy), 0 while it is kept compact",
      registers: [options.registry],
    });
    this.switches = new Counter({
      name: "bv_edge_heap_mode_changes_total",
      help: "Heap mode changes by reason: busy (entered), idle (left, load fell), rss (left, memory.rss_limit_mb reached)",
      labelNames: ["reason"],
      registers: [options.registry],
    });
    if (options.adaptive) {
      this.timer = setInterval(() => this.sample(), options.sampleMs ?? 1000);
      this.timer.unref();
    }
  }

  get mode(): HeapMode {
    return this.policy.mode;
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    const rssMb = process.memoryUsage.rss() / 1_048_576;
    const reason = this.policy.next({ utilization, rssMb });
    if (reason === undefined) return;
    const busy = this.policy.mode === "busy";
    (this.options.setFlags ?? setFlagsFromString)(heapFlags(this.policy.mode));
    this.modeGauge.set(busy ? 1 : 0);
    this.switches.inc({ reason });
    this.options.logger.info(
      { mode: this.policy.mode, reason, utilization: Math.round(utilization * 100) / 100, rssMb: Math.round(rssMb) },
      busy ? "heap may grow: the agent is busy" : "heap kept compact",
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
