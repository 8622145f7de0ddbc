/** Readings the cloud refuses, as dead letters: stored with their reason, shown (never executed). */
import type { Reading } from "@bitvelocity/proto";
import type { NewDeadLetter } from "./link-records.js";

const PREVIEW_CHARS = 512;

/** Dead-letter payloads are shown, not executed: a bounded, printable preview. */
export function preview(payload: Uint8Array): string {
  const text = Buffer.from(payload.subarray(0, PREVIEW_CHARS * 2)).toString("utf8");
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

/** A reading the cloud refused, as a dead letter (also used by the Kafka store-writer). */
export function cloudDeadLetter(r: Reading, reason: string, receivedAtMs: number): NewDeadLetter {
  const values: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(r.values)) {
    const kind = v?.kind;
    values[name] = kind?.$case === "number" ? kind.number : kind?.$case === "flag" ? kind.flag : kind?.$case === "text" ? kind.text : null;
  }
  return {
    source: "cloud",
    ref: r.seq,
    deviceId: r.deviceId,
    seq: r.seq,
    topic: null,
    reason,
    payloadPreview: preview(Buffer.from(JSON.stringify({ deviceType: r.deviceType, values }))),
    timeMs: r.edgeTimeMs,
    receivedAtMs,
  };
}
