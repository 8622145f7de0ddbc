/**
 * JSON payloads on the device topics (docs/mqtt-topics.md). Pure functions: bytes in, typed
 * value or a list of problems out. Nothing here throws on bad input.
 */
import type { DeviceType, MetricValue, MetricValues } from "./types.js";
import { describe, type ValueProblem, validateValues } from "./values.js";

/** Largest telemetry payload accepted from a device, in bytes. */
export const MAX_TELEMETRY_BYTES = 16 * 1024;

/** Device timestamps before this (2001-09-09) are treated as "clock not set" rather than rejected. */
const PLAUSIBLE_EPOCH_MS = 1_000_000_000_000;

export interface TelemetryPayload {
  /** Device time in ms since the epoch, if the device sent a plausible one. */
  readonly deviceTimeMs?: number;
  /** True when the device sent a timestamp that is clearly unsynchronised (e.g. 1970). */
  readonly deviceClockUnset: boolean;
  readonly values: MetricValues;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; problems: ValueProblem[] };

/** One decoder for every payload given as bytes (creating one per message costs more than decoding). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(bytes: Uint8Array | string): Decoded<unknown> {
  try {
    const text = typeof bytes === "string" ? bytes : utf8.decode(bytes);
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problems: [{ path: "", message: `not valid UTF-8 JSON: ${(err as Error).message}` }] };
  }
}

function parseTime(v: unknown): Decoded<number> {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return { ok: true, value: Math.round(v) };
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return { ok: true, value: t };
  }
  return { ok: false, problems: [{ path: "ts", message: `expected ms since epoch or an ISO 8601 string, got ${describe(v)}` }] };
}

/**
 * Decodes a telemetry payload `{"ts"?: ms|ISO, "values": {...}}` and checks it against the
 * device type's profile.
 */
export function decodeTelemetry(type: DeviceType, bytes: Uint8Array | string): Decoded<TelemetryPayload> {
  // A string of n UTF-16 units is at most 3n UTF-8 bytes: count them only when that could be too many.
  const size =
    typeof bytes !== "string" ? bytes.byteLength : bytes.length * 3 <= MAX_TELEMETRY_BYTES ? bytes.length : Buffer.byteLength(bytes);
  if (size > MAX_TELEMETRY_BYTES) {
    return { ok: false, problems: [{ path: "", message: `payload of ${size} bytes exceeds ${MAX_TELEMETRY_BYTES}` }] };
  }
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const body = json.value;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ path: "", message: `expected a JSON object, got ${describe(body)}` }] };
  }
  const record = body as Record<string, unknown>;
  let timeProblem: ValueProblem[] | undefined;
  let deviceTimeMs: number | undefined;
  let deviceClockUnset = false;
  const ts = record.ts;
  if (ts !== undefined) {
    // Once per reading: the common case (a number) without the result object.
    const t = typeof ts === "number" && Number.isFinite(ts) && ts >= 0 ? Math.round(ts) : parseTime(ts);
    if (typeof t !== "number" && !t.ok) timeProblem = t.problems;
    else {
      const ms = typeof t === "number" ? t : t.value;
      if (ms < PLAUSIBLE_EPOCH_MS) deviceClockUnset = true;
      else deviceTimeMs = ms;
    }
  }
  const checked = validateValues(type, record.values);
  if (timeProblem || "problems" in checked) {
    return { ok: false, problems: [...(timeProblem ?? []), ...("problems" in checked ? checked.problems : [])] };
  }
  return {
    ok: true,
    value:
      deviceTimeMs === undefined
        ? { deviceClockUnset, values: checked.values }
        : { deviceTimeMs, deviceClockUnset, values: checked.values },
  };
}

export function encodeTelemetry(values: MetricValues, ts?: number): string {
  return JSON.stringify(ts === undefined ? { values } : { ts, values });
}

/** Sent by the edge on `bv/{deviceId}/cmd`. */
export interface CommandMessage {
  readonly id: string;
  readonly name: string;
  readonly params: Record<string, MetricValue>;
}

export type CommandResultStatus = "succeeded" | "failed";

/** Published by the device on `bv/{deviceId}/cmd/result`. */
export interface CommandResultMessage {
  readonly id: string;
  readonly status: CommandResultStatus;
  readonly message?: string;
  readonly result?: Record<string, unknown>;
}

export function encodeCommand(cmd: CommandMessage): string {
  return JSON.stringify(cmd);
}

export function decodeCommand(bytes: Uint8Array | string): Decoded<CommandMessage> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const b = json.value as Record<string, unknown> | null;
  if (typeof b !== "object" || b === null || typeof b.id !== "string" || typeof b.name !== "string") {
    return { ok: false, problems: [{ path: "", message: "expected {id: string, name: string, params?: object}" }] };
  }
  const params = (typeof b.params === "object" && b.params !== null ? b.params : {}) as Record<string, MetricValue>;
  return { ok: true, value: { id: b.id, name: b.name, params } };
}

export function encodeCommandResult(r: CommandResultMessage): string {
  return JSON.stringify(r);
}

export function decodeCommandResult(bytes: Uint8Array | string): Decoded<CommandResultMessage> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const b = json.value as Record<string, unknown> | null;
  if (typeof b !== "object" || b === null || typeof b.id !== "string" || b.id.length === 0) {
    return { ok: false, problems: [{ path: "id", message: "expected a non-empty command id" }] };
  }
  if (b.status !== "succeeded" && b.status !== "failed") {
    return { ok: false, problems: [{ path: "status", message: `expected "succeeded" or "failed", got ${describe(b.status)}` }] };
  }
  const out: CommandResultMessage = {
    id: b.id,
    status: b.status,
    ...(typeof b.message === "string" ? { message: b.message } : {}),
    ...(typeof b.result === "object" && b.result !== null && !Array.isArray(b.result)
      ? { result: b.result as Record<string, unknown> }
      : {}),
  };
  return { ok: true, value: out };
}
