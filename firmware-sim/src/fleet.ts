/**
 * Runs a scenario: one SimDevice per planned device, staggered connects, progress on stderr, and a
 * graceful stop (stop publishing, wait a bounded time for outstanding PUBACKs, end the clients,
 * flush the acked log).
 */
import { type Logger, silentLogger, sleep } from "@bitvelocity/common";
import { deviceType } from "@bitvelocity/devices";
import { AckedLog, type AckedSink, noAckedLog } from "./acked-log.js";
import { SimDevice } from "./device.js";
import { planFleet } from "./provision.js";
import type { Scenario } from "./scenario.js";
import { FleetCounters, type FleetStats, progressLine } from "./stats.js";

export interface FleetHandle {
  stats(): FleetStats;
  stop(): Promise<FleetStats>;
  done: Promise<FleetStats>;
  /** The simulated devices, for tests and tools. */
  readonly devices: readonly SimDevice[];
}

export interface FleetOptions {
  /** Append one JSON line per acknowledged telemetry message to this file. */
  ackedLog?: string;
  logger?: Logger;
  /** A one-line progress report on stderr every few seconds. */
  progress?: boolean;
  /** How long stop() waits for outstanding PUBACKs (default 5 s). */
  drainTimeoutMs?: number;
}

const MAX_STAGGER_MS = 10_000;
const PROGRESS_MS = 3_000;

export function runFleet(scenario: Scenario, options: FleetOptions = {}): FleetHandle {
  const logger = options.logger ?? silentLogger();
  const plans = planFleet(scenario);
  const counters = new FleetCounters(plans.length);
  const log: AckedSink = options.ackedLog ? new AckedLog(options.ackedLog) : noAckedLog;
  const devices = plans.map(
    (plan) =>
      new SimDevice({
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

  const progress = options.progress ? startProgress(stats) : undefined;
  let stopping: Promise<FleetStats> | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  let resolveDone: (s: FleetStats) => void = () => undefined;
  const done = new Promise<FleetStats>((resolve) => {
    resolveDone = resolve;
  });

  async function shutdown(): Promise<FleetStats> {
    if (durationTimer) clearTimeout(durationTimer);
    for (const d of devices) d.halt();
    const deadline = Date.now() + (options.drainTimeoutMs ?? 5_000);
    while (Date.now() < deadline && devices.some((d) => d.outstanding > 0 && d.isOnline)) await sleep(25);
    await Promise.all(devices.map((d) => d.close()));
    await log.close();
    const final = stats();
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
  return { stats, stop, done, devices };
}

function startProgress(stats: () => FleetStats): { stop(final: FleetStats): void } {
  const tty = process.stderr.isTTY === true;
  const write = (s: FleetStats) => {
    if (tty) process.stderr.write(`\r\x1b[2K${progressLine(s)}`);
    else process.stderr.write(`${progressLine(s)}\n`);
  };
  const timer = setInterval(() => write(stats()), PROGRESS_MS);
  timer.unref();
  return {
    stop(final: FleetStats) {
      clearInterval(timer);
      write(final);
      if (tty) process.stderr.write("\n");
    },
  };
}
