/**
 * The filter stage (DESIGN.md §2: normalize → filter → outbox): per point, a report strategy
 * decides whether a new value is worth sending. A reading keeps the points that pass; a reading
 * with none left is suppressed. Suppressed values are counted per strategy, never logged.
 */
import { deviceType, type MetricValue, type MetricValues } from "@bitvelocity/devices";
import { Counter, type Registry } from "prom-client";
import type { NewReading } from "../outbox/types.js";
import type { DeviceReport, PointReport } from "./report-schema.js";
import { type ReadingSink, whenQueued } from "./sink.js";

interface Last {
  value: MetricValue;
  atMs: number;
}

/** Decides for one point; pure apart from the caller-held `last`. */
export function shouldReport(policy: PointReport, value: MetricValue, last: Last | undefined, nowMs: number, range?: number): boolean {
  if (last === undefined || policy.strategy === "always") return true;
  switch (policy.strategy) {
    case "period":
      return nowMs - last.atMs >= (policy.period_ms ?? 0);
    case "on_change":
      return value !== last.value;
    case "on_change_or_heartbeat":
      return value !== last.value || nowMs - last.atMs >= (policy.heartbeat_ms ?? Number.POSITIVE_INFINITY);
    case "deadband":
      return beyondDeadband(policy, value, last.value, range);
  }
}

/**
 * Absolute: |new − last| > deadband. Percent: |new − last| > deadband/100 × the metric's range
 * (as OPC UA Part 8 §6.2 PercentDeadband uses the EURange), or × |last| when the catalog gives no range.
 * Non-numeric values report on any change.
 */
function beyondDeadband(policy: PointReport, value: MetricValue, last: MetricValue, range: number | undefined): boolean {
  if (typeof value !== "number" || typeof last !== "number") return value !== last;
  const band = policy.deadband ?? 0;
  const limit = policy.deadband_mode === "percent" ? (band / 100) * (range ?? Math.abs(last)) : band;
  return Math.abs(value - last) > limit;
}

export class ReportFilter {
  private readonly last = new Map<string, Last>();
  private readonly suppressed: Counter<"strategy">;

  constructor(
    private policies: ReadonlyMap<string, DeviceReport>,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const existing = registry.getSingleMetric("bv_edge_readings_suppressed_total");
    this.suppressed =
      (existing as Counter<"strategy"> | undefined) ??
      new Counter({
        name: "bv_edge_readings_suppressed_total",
        help: "Point values not reported because their report strategy suppressed them, by strategy",
        labelNames: ["strategy"],
        registers: [registry],
      });
  }

  /** New report strategies from now on (remote configuration, applied hot); a device's last values are kept. */
  setPolicies(policies: ReadonlyMap<string, DeviceReport>): void {
    this.policies = policies;
  }

  /** The reading with the points worth reporting, or undefined when none is. */
  apply(reading: NewReading): NewReading | undefined {
    const device = this.policies.get(reading.deviceId);
    if (!device || (device.strategy === "always" && Object.keys(device.points).length === 0)) return reading;
    const type = deviceType(reading.deviceType);
    const nowMs = this.now();
    const kept: MetricValues = {};
    let any = false;
    for (const [name, value] of Object.entries(reading.values)) {
      const policy = device.points[name] ?? device;
      const key = `${reading.deviceId}\u0000${name}`;
      const def = type?.metrics.find((m) => m.name === name);
      const range = def?.min !== undefined && def.max !== undefined ? def.max - def.min : undefined;
      if (shouldReport(policy, value, this.last.get(key), nowMs, range)) {
        kept[name] = value;
        any = true;
        this.last.set(key, { value, atMs: nowMs });
      } else {
        this.suppressed.inc({ strategy: policy.strategy });
      }
    }
    return any ? { ...reading, values: kept } : undefined;
  }
}

/**
 * A sink that filters before the outbox; a suppressed reading resolves with seq 0 (nothing stored).
 * The filter has already remembered a kept reading's values, so a full commit queue is waited out
 * here (filtering the reading again would suppress it as unchanged): this sink never rejects
 * with `OUTBOX_BUSY`.
 */
export function filteredSink(filter: ReportFilter, next: ReadingSink): ReadingSink {
  return {
    append: (reading) => {
      const kept = filter.apply(reading);
      if (!kept) return Promise.resolve(0);
      return new Promise((resolve, reject) => whenQueued(() => next.append(kept), resolve, reject));
    },
    appendNow: (reading, done, onBusy, awaited) => {
      const kept = filter.apply(reading);
      if (!kept) {
        done(null, 0);
        return;
      }
      if (next.appendNow) {
        next.appendNow(kept, done, onBusy, awaited);
        return;
      }
      whenQueued(
        () => next.append(kept),
        (seq) => done(null, seq),
        (err) => done(err, 0),
        onBusy,
      );
    },
    deadLetter: (input) => next.deadLetter(input),
  };
}
