/**
 * EdgeStatus reports: outbox depth and age, dead letters, devices connected, drain rate over a
 * recent window and the time to drain the backlog at that rate. Sent on each new session and
 * every status_interval_ms while connected.
 */
import type { EdgeStatus } from "@bitvelocity/proto";
import type { DeviceGateway } from "../commands/device-gateway.js";
import type { OutboxReader } from "../outbox/types.js";
import type { Link } from "./link.js";

/** Readings drained per second over a sliding window of one-second buckets. */
export class DrainRate {
  private readonly buckets = new Map<number, number>();

  constructor(
    private readonly windowMs = 30_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  record(readings: number): void {
    if (readings <= 0) return;
    const second = Math.floor(this.now() / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + readings);
    this.prune(second);
  }

  perSecond(): number {
    const second = Math.floor(this.now() / 1000);
    this.prune(second);
    let total = 0;
    for (const n of this.buckets.values()) total += n;
    return total / (this.windowMs / 1000);
  }

  private prune(second: number): void {
    const oldest = second - Math.ceil(this.windowMs / 1000) + 1;
    for (const s of this.buckets.keys()) if (s < oldest) this.buckets.delete(s);
  }
}

export interface StatusSources {
  readonly outbox: Pick<OutboxReader, "stats">;
  readonly gateway: DeviceGateway;
  readonly rate: DrainRate;
  readonly agentVersion: string;
  readonly bootId: string;
  readonly clockSynced: () => boolean;
  /** Monotonic ms since the agent started. */
  readonly uptimeMs: () => number;
}

export function buildStatus(sources: StatusSources, timeMs = Date.now()): EdgeStatus {
  const stats = sources.outbox.stats();
  const drainRate = sources.rate.perSecond();
  return {
    timeMs,
    outboxReadings: stats.readings,
    outboxBytes: stats.bytes,
    oldestAgeSeconds: stats.oldestAgeSeconds,
    evictedReadings: stats.evictedReadings,
    gaps: stats.gaps,
    deadLetters: stats.deadLetters,
    drainRate,
    etaSeconds: stats.readings > 0 && drainRate > 0 ? stats.readings / drainRate : 0,
    devicesConnected: sources.gateway.devices().filter((d) => d.online).length,
    connectors: [],
    agentVersion: sources.agentVersion,
    bytesWritten: stats.bytesWritten,
    budgetBytes: stats.budgetBytes,
    clockSynced: sources.clockSynced(),
    bootId: sources.bootId,
    alarms: [...stats.alarms],
    uptimeSeconds: sources.uptimeMs() / 1000,
    controlPending: stats.controlPending,
  };
}

/** Posts a status on every new session and then every `intervalMs`; returns the stop function. */
export function startStatusReports(link: Link, intervalMs: number, build: () => EdgeStatus, onError: (err: unknown) => void): () => void {
  const post = (): void => {
    if (!link.session()) return;
    try {
      link.post({ kind: "status", status: build() });
    } catch (err) {
      onError(err);
    }
  };
  const offSession = link.onSession(() => post());
  const timer = setInterval(post, intervalMs);
  timer.unref();
  return () => {
    offSession();
    clearInterval(timer);
  };
}
