/**
 * Checks one wire Reading against the device catalog and turns it into a ValidReading, or a
 * reason the edge can dead-letter. Pure: no I/O.
 */
import { deviceType, isValidDeviceId, validateValues } from "@bitvelocity/devices";
import type { Reading } from "@bitvelocity/proto";
import type { IngestValue, ValidReading } from "./ports.js";

export type Checked = { ok: true; reading: ValidReading } | { ok: false; seq: number; reason: string };

/** An edge boot's anchor: its wall time at uptime 0 as measured by the cloud, if known. */
export type BootAnchors = (bootId: string) => number | undefined;

function wireValues(reading: Reading): Record<string, IngestValue | undefined> {
  const out: Record<string, IngestValue | undefined> = {};
  for (const [name, v] of Object.entries(reading.values)) {
    const kind = v?.kind;
    if (kind?.$case === "number") out[name] = kind.number;
    else if (kind?.$case === "flag") out[name] = kind.flag;
    else if (kind?.$case === "text") out[name] = kind.text;
    else out[name] = undefined;
  }
  return out;
}

export function checkReading(reading: Reading, receivedAt: number, anchors: BootAnchors = () => undefined): Checked {
  const seq = reading.seq;
  const fail = (reason: string): Checked => ({ ok: false, seq, reason });
  if (!Number.isSafeInteger(seq) || seq <= 0) return fail(`seq ${seq} is not a positive integer`);
  if (!isValidDeviceId(reading.deviceId)) return fail(`invalid device id ${JSON.stringify(reading.deviceId)}`);
  const type = deviceType(reading.deviceType);
  if (!type) return fail(`unknown device type ${JSON.stringify(reading.deviceType)}`);
  if (!Number.isFinite(reading.edgeTimeMs) || reading.edgeTimeMs <= 0) return fail(`edge_time_ms ${reading.edgeTimeMs} is not a time`);
  const raw = wireValues(reading);
  const missing = Object.entries(raw).find(([, v]) => v === undefined);
  if (missing) return fail(`values.${missing[0]}: no value`);
  const checked = validateValues(type, raw);
  if ("problems" in checked) return fail(checked.problems.map((p) => `${p.path}: ${p.message}`).join("; "));
  let edgeTimeMs = reading.edgeTimeMs;
  // DESIGN.md §3.6: a reading taken while the edge clock was unsynchronised (a Pi without RTC
  // boots in 1970) is re-stamped from its boot's anchor and its monotonic uptime. Without an
  // anchor (that boot never reached the cloud) the receive time is the best estimate there is.
  if (!reading.clockSynced) {
    const anchor = anchors(reading.bootId);
    edgeTimeMs = anchor !== undefined ? anchor + reading.uptimeMs : receivedAt;
  }
  const deviceTimeMs = reading.deviceTimeMs !== undefined && reading.deviceTimeMs > 0 ? reading.deviceTimeMs : undefined;
  return {
    ok: true,
    reading: { seq, deviceId: reading.deviceId, deviceType: type.type, values: checked.values, deviceTimeMs, edgeTimeMs, receivedAt },
  };
}
