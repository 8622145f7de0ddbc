/**
 * Normalize: a raw telemetry message from a device becomes a reading for the outbox, or a dead
 * letter with the reason it was refused (DESIGN.md §2, §3 promise 9). Pure: no I/O.
 */
import { type DeviceType, decodeTelemetry, type MetricValues } from "@bitvelocity/devices";
import type { DeadLetterInput, Lane, NewReading } from "../outbox/types.js";

export type Normalized = { ok: true; reading: NewReading } | { ok: false; deadLetter: DeadLetterInput };

export function normalizeTelemetry(deviceId: string, type: DeviceType, topic: string, payload: Uint8Array): Normalized {
  const decoded = decodeTelemetry(type, payload);
  if (!decoded.ok) {
    const reason = decoded.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
    return { ok: false, deadLetter: { deviceId, topic, payload, reason } };
  }
  const { deviceTimeMs, values } = decoded.value;
  return {
    ok: true,
    reading: {
      deviceId,
      deviceType: type.type,
      values,
      lane: laneOf(type, values),
      ...(deviceTimeMs === undefined ? {} : { deviceTimeMs }),
    },
  };
}

/** A reading with a metric outside the catalog's normal range travels in the alarm lane (drained first). */
export function laneOf(type: DeviceType, values: MetricValues): Lane {
  for (const metric of type.metrics) {
    const value = values[metric.name];
    if (metric.normal && typeof value === "number" && (value < metric.normal.min || value > metric.normal.max)) return "alarm";
  }
  return "telemetry";
}
