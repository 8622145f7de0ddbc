/**
 * Normalize: a raw telemetry message from a device becomes a reading for the outbox, or a dead
 * letter with the reason it was refused (DESIGN.md §2, §3 promise 9). Pure: no I/O.
 */
import { type DeviceType, decodeTelemetry, MAX_TELEMETRY_BYTES, type MetricValues, validateValues } from "@bitvelocity/devices";
import type { DeadLetterInput, Lane, NewReading } from "../outbox/types.js";

export type Normalized = { ok: true; reading: NewReading } | { ok: false; deadLetter: DeadLetterInput };

/** One decoder for every payload (creating one per message costs more than the decoding). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function normalizeTelemetry(deviceId: string, type: DeviceType, topic: string, payload: Uint8Array): Normalized {
  const decoded = decodeTelemetry(type, asText(payload));
  if (!decoded.ok) {
    const reason = decoded.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
    return { ok: false, deadLetter: { deviceId, topic, payload, reason } };
  }
  const { deviceTimeMs, values } = decoded.value;
  const lane = laneOf(type, values);
  // Two literals rather than a spread: this runs once per reading, and the spread's objects are garbage.
  const reading: NewReading =
    deviceTimeMs === undefined
      ? { deviceId, deviceType: type.type, values, lane }
      : { deviceId, deviceType: type.type, values, lane, deviceTimeMs };
  return { ok: true, reading };
}

/** The payload as text; bytes that are not UTF-8 stay bytes, so the decoder reports them as such. */
function asText(payload: Uint8Array): string | Uint8Array {
  if (payload.byteLength > MAX_TELEMETRY_BYTES) return payload;
  try {
    return utf8.decode(payload);
  } catch {
    return payload;
  }
}

/**
 * A connector's decoded values (already typed by the register map or node) are checked against
 * the catalog the same way: out-of-range or mistyped values are dead-lettered with the reason.
 */
export function normalizeValues(
  deviceId: string,
  type: DeviceType,
  source: string,
  values: MetricValues,
  deviceTimeMs?: number,
): Normalized {
  const checked = validateValues(type, values);
  if ("problems" in checked) {
    const reason = checked.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
    return { ok: false, deadLetter: { deviceId, topic: source, payload: new TextEncoder().encode(JSON.stringify(values)), reason } };
  }
  return {
    ok: true,
    reading: {
      deviceId,
      deviceType: type.type,
      values: checked.values,
      lane: laneOf(type, checked.values),
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
