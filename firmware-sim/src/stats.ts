/**
 * Fleet counters and publish→PUBACK latency. Latency goes into log-spaced buckets (~2% wide, from 0.1 ms) so
 * that a long load run keeps constant memory and still reports p50/p95/p99.
 */

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface FleetStats {
  readonly devices: number;
  readonly connected: number;
  /** Telemetry messages handed to the client. */
  readonly sent: number;
  /** Telemetry messages the broker acknowledged (the acked log has one line each). */
  readonly acked: number;
  /** Sent but neither acknowledged nor failed (yet, or at stop). */
  readonly outstanding: number;
  /** Publishes that failed, connection errors, refused connections. */
  readonly errors: number;
  readonly publishFailures: number;
  readonly connects: number;
  readonly disconnects: number;
  readonly authFailures: number;
  /** Readings not sent because the device was offline at that tick. */
  readonly skippedOffline: number;
  readonly commands: number;
  readonly commandsFailed: number;
  readonly latencyMs: LatencySummary;
  readonly elapsedS: number;
  readonly ackedPerS: number;
  /** Readings kept in the device-side retry queue while offline / dropped because it was full. */
  readonly queued: number;
  readonly droppedQueueFull: number;
  /** Readings in RAM (queue, unacknowledged) lost to a power cycle. */
  readonly lostPowerCycle: number;
  /** Readings stamped before the device's clock was synced (1970 + uptime). */
  readonly unsyncedReadings: number;
  readonly duplicatesSent: number;
  readonly duplicatesAcked: number;
  readonly malformedSent: number;
  readonly malformedAcked: number;
  readonly flaps: number;
  readonly powerCycles: number;
  readonly clockJumps: number;
  readonly slowConsumers: number;
  readonly otaUpdates: number;
  /** Failure injections fired, by kind. */
  readonly failures: Readonly<Record<string, number>>;
  /** Simulator processes this summary covers. */
  readonly processes: number;
}

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private total = 0;
  private maxMs = 0;

  record(ms: number): void {
    const v = Math.max(0, ms);
    const tenths = v * 10; // resolution 0.1 ms at the bottom
    const bucket = tenths < 1 ? 0 : 1 + Math.floor(Math.log(tenths) / LOG_GROWTH);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.total += 1;
    if (v > this.maxMs) this.maxMs = v;
  }

  /** The upper edge of the bucket holding quantile q (0..1), capped at the maximum seen. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(this.maxMs, (bucket === 0 ? 1 : GROWTH ** bucket) / 10);
    }
    return this.maxMs;
  }

  /** Buckets as [bucket, count] pairs, to merge the histograms of several processes. */
  toJSON(): { buckets: [number, number][]; max: number } {
    return { buckets: [...this.buckets.entries()], max: this.maxMs };
  }

  merge(other: { buckets: [number, number][]; max: number }): void {
    for (const [bucket, count] of other.buckets) {
      this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + count);
      this.total += count;
    }
    if (other.max > this.maxMs) this.maxMs = other.max;
  }

  summary(): LatencySummary {
    const r = (v: number) => Math.round(v * 100) / 100;
    return { count: this.total, p50: r(this.quantile(0.5)), p95: r(this.quantile(0.95)), p99: r(this.quantile(0.99)), max: r(this.maxMs) };
  }
}

/** Mutable counters shared by the devices of one fleet run. */
export class FleetCounters {
  connected = 0;
  sent = 0;
  acked = 0;
  errors = 0;
  publishFailures = 0;
  connects = 0;
  disconnects = 0;
  authFailures = 0;
  skippedOffline = 0;
  commands = 0;
  commandsFailed = 0;
  queued = 0;
  droppedQueueFull = 0;
  lostPowerCycle = 0;
  unsyncedReadings = 0;
  duplicatesSent = 0;
  duplicatesAcked = 0;
  malformedSent = 0;
  malformedAcked = 0;
  flaps = 0;
  powerCycles = 0;
  clockJumps = 0;
  slowConsumers = 0;
  otaUpdates = 0;
  failures: Record<string, number> = {};
  readonly latency = new LatencyHistogram();
  /** Latency since the last time-series sample (stats file), reset at each sample. */
  window = new LatencyHistogram();
  private readonly startedMs = Date.now();

  constructor(readonly devices: number) {}

  recordLatency(ms: number): void {
    this.latency.record(ms);
    this.window.record(ms);
  }

  snapshot(outstanding: number): FleetStats {
    const elapsedS = Math.max(0.001, (Date.now() - this.startedMs) / 1000);
    return {
      devices: this.devices,
      connected: this.connected,
      sent: this.sent,
      acked: this.acked,
      outstanding,
      errors: this.errors,
      publishFailures: this.publishFailures,
      connects: this.connects,
      disconnects: this.disconnects,
      authFailures: this.authFailures,
      skippedOffline: this.skippedOffline,
      commands: this.commands,
      commandsFailed: this.commandsFailed,
      latencyMs: this.latency.summary(),
      elapsedS: Math.round(elapsedS * 10) / 10,
      ackedPerS: Math.round((this.acked / elapsedS) * 10) / 10,
      queued: this.queued,
      droppedQueueFull: this.droppedQueueFull,
      lostPowerCycle: this.lostPowerCycle,
      unsyncedReadings: this.unsyncedReadings,
      duplicatesSent: this.duplicatesSent,
      duplicatesAcked: this.duplicatesAcked,
      malformedSent: this.malformedSent,
      malformedAcked: this.malformedAcked,
      flaps: this.flaps,
      powerCycles: this.powerCycles,
      clockJumps: this.clockJumps,
      slowConsumers: this.slowConsumers,
      otaUpdates: this.otaUpdates,
      failures: { ...this.failures },
      processes: 1,
    };
  }
}

export function progressLine(s: FleetStats): string {
  const l = s.latencyMs;
  return (
    `bv-sim ${s.elapsedS.toFixed(0)}s connected ${s.connected}/${s.devices} sent ${s.sent} acked ${s.acked} ` +
    `(${s.ackedPerS}/s) outstanding ${s.outstanding} errors ${s.errors} latency p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} ms`
  );
}
