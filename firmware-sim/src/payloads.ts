/**
 * Telemetry payloads as a device sends them, padded to a scenario's payload size, and the bad
 * ones failure injection sends: each kind of malformation the edge must refuse with a reason
 * (dead letter) while acknowledging it, so the device does not retry poison forever.
 */
import { type DeviceType, encodeTelemetry, MAX_TELEMETRY_BYTES, type MetricValues } from "@bitvelocity/devices";
import type { Malformation } from "./failures.js";

const PAD_OVERHEAD = ',"pad":""'.length;

/** `{"ts","values"}`, and when `padTo` asks for more bytes, a `"pad"` string the edge ignores. */
export function telemetryPayload(values: MetricValues, ts: number, padTo: number): string {
  const body = encodeTelemetry(values, ts);
  if (body.length >= padTo) return body;
  const pad = Math.max(0, padTo - body.length - PAD_OVERHEAD);
  return `${body.slice(0, -1)},"pad":"${"x".repeat(pad)}"}`;
}

export function malformedPayload(kind: Malformation, type: DeviceType, ts: number): string | Buffer {
  const metric = type.metrics.find((m) => m.type === "number" || m.type === "integer") ?? type.metrics[0];
  const name = metric?.name ?? "value";
  switch (kind) {
    case "not_json":
      return Buffer.from([0x7b, 0x22, 0x74, 0x73, 0xff, 0xfe, 0x00, 0x2c]); // `{"ts` then invalid UTF-8 and a NUL
    case "wrong_type":
      return JSON.stringify({ ts, values: { [name]: "not a number" } });
    case "out_of_range":
      return JSON.stringify({ ts, values: { [name]: (metric?.max ?? 1e9) * 10 + 1e6 } });
    case "missing_values":
      return JSON.stringify({ ts });
    case "oversize":
      return `{"ts":${ts},"values":{},"pad":"${"x".repeat(MAX_TELEMETRY_BYTES)}"}`;
  }
}
