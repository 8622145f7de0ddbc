/**
 * Runs a scenario: one SimDevice per planned device, staggered connects, progress on stderr, and a
 * graceful stop (stop publishing, wait a bounded time for outstanding PUBACKs, end the clients,
 * flush the acked log).
 */
import { type Logger, silentLogger, sleep } from "@bitvelocity/common";
import { deviceType } from "@bitvelocity/devices";
import { AckedLog, type AckedSink, noAckedLog } from "./acked-log.js";
import { SimDevice } from "./device.js";
import { startFailures } from "./failures.js";
import { startProgress } from "./progress.js";
import { planFleet } from "./provision.js";
import type { Scenario } from "./scenario.js";
import { FleetScheduler } from "./scheduler.js";
import { FleetCounters, type FleetStats, LatencyHistogram } from "./stats.js";
import { StatsSeries } from "./timeseries.js";

export interface FleetHandle {
  stats(): FleetStats;
  stop(): Promise<FleetStats>;
  done: Promise<FleetStats>;
  /** The simulated devices, for tests and tools. */
  readonly devices: readonly SimDevice[];
  /** The latency histograms (all, and since the last call), for a parent merging several processes. */
  histograms(): { all: LatencyHistogram; window: LatencyHistogram };
}

export interface FleetOptions {
  /** Append one JSON line per acknowledged telemetry message to this file. */
  ackedLog?: string;
  logger?: Logger;
  /** A one-line progress report on stderr every few seconds. */
  progress?: boolean;
  /** How long stop() waits for outstanding PUBACKs (default 5 s). */
  drainTimeoutMs?: number;
  /** One JSON line per second with the counters and that second's latency (timeseries.ts). */
  statsFile?: string;
  /** Run only every `count`-th device starting at `index` (one process of several, shards.ts). */
  shard?: { index: number; count: number };
}

const MAX_STAGGER_MS = 10_000;

export function runFleet(scenario: Scenario, options: FleetOptions = {}): FleetHandle {
  const logger = options.logger ?? silentLogger();
  const shard = options.shard;
  // planFleet lists the devices fleet by fleet, so the fleet of the i-th device follows from the counts.
  const fleetOfIndex = scenario.fleets.flatMap((f) => Array.from({ length: f.count }, () => f));
  const all = planFleet(scenario).map((plan, i) => ({ plan, fleet: fleetOfIndex[i] }));
  const mine = all.filter((_, i) => !shard || i % shard.count === shard.index);
  const plans = mine.map((m) => m.plan);
  const counters = new FleetCounters(plans.length);
  const log: AckedSink = options.ackedLog ? new AckedLog(options.ackedLog) : noAckedLog;
  const series = options.statsFile ? new StatsSeries(options.statsFile) : undefined;
  const scheduler = new FleetScheduler();
  const devices = mine.map(
    ({ plan, fleet }) =>
      new SimDevice({
        scheduler,
        firmware: fleet ?? {},
        plan,
        type: deviceType(plan.deviceType)!, // the scenario schema checked the type exists
        brokerUrl: scenario.broker.url,
        connectTimeoutMs: scenario.broker.connect_timeout_ms,
        qos: scenario.qos,
        seed: scenario.seed,
        counters,
        ackedLog: log,
        logger,
      }),
  );
  const outstanding = () => devices.reduce((sum, d) => sum + d.outstanding, 0);
  const stats = () => counters.snapshot(outstanding());

  const stagger = Math.min(MAX_STAGGER_MS, Math.max(...plans.map((p) => p.intervalMs), 0));
  devices.forEach((d, i) => {
    d.start(devices.length > 1 ? (i / devices.length) * stagger : 0);
  });
  logger.info({ devices: devices.length, broker: scenario.broker.url, qos: scenario.qos }, "fleet started");
  const failures = startFailures(scenario.failures, devices, scenario.seed, (kind, ids) =>
    logger.info({ kind, devices: ids.length }, "failure injected"),
  );
  counters.failures = failures.injected;

  const progress = options.progress ? startProgress(stats, scenario.duration_s) : undefined;
  const sampler = series
    ? setInterval(() => {
        series.sample(stats(), counters.window);
        counters.window = new LatencyHistogram();
      }, 1_000)
    : undefined;
  let stopping: Promise<FleetStats> | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  let resolveDone: (s: FleetStats) => void = () => undefined;
  const done = new Promise<FleetStats>((resolve) => {
    resolveDone = resolve;
  });

  async function shutdown(): Promise<FleetStats> {
    if (durationTimer) clearTimeout(durationTimer);
    failures.stop();
    for (const d of devices) d.halt();
    scheduler.stop();
    const deadline = Date.now() + (options.drainTimeoutMs ?? 5_000);
    while (Date.now() < deadline && devices.some((d) => d.outstanding > 0 && d.isOnline)) await sleep(25);
    await Promise.all(devices.map((d) => d.close()));
    await log.close();
    const final = stats();
    if (sampler) clearInterval(sampler);
    series?.sample(final, counters.window);
    progress?.stop(final);
    logger.info({ sent: final.sent, acked: final.acked, outstanding: final.outstanding }, "fleet stopped");
    resolveDone(final);
    return final;
  }

  const stop = () => {
    stopping ??= shutdown();
    return stopping;
  };
  if (scenario.duration_s > 0) {
    durationTimer = setTimeout(() => void stop(), scenario.duration_s * 1000);
  }
  const histograms = () => {
    const window = counters.window;
    counters.window = new LatencyHistogram();
    return { all: counters.latency, window };
  };
  return { stats, stop, done, devices, histograms };
}
