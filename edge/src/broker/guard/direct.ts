/**
 * The direct route for a device's telemetry: a checked PUBLISH (QoS 0 or 1, not retained) that the
 * access policy takes and no subscription matches is handled from the pre-parser's frame — topic
 * and payload read once, the reading validated and committed, the PUBACK written after the commit —
 * without aedes parsing the packet again, building its packet objects and routing it to nobody.
 * Everything else (status, command results, retained, QoS 2, topics someone subscribes to, any
 * PUBLISH before the CONNACK) goes through aedes as before. ADR 010 has the measured reason.
 */
import type { Frame } from "./frame-reader.js";

export interface DirectPublish {
  /** Whether a PUBLISH of `clientId` on `topic` is handled here rather than by aedes. */
  takes(clientId: string, topic: string): boolean;
  /**
   * Handles it; `done(null)` once committed (or dead-lettered), `done(err)` closes the connection.
   * `awaited`: the device waits for this commit (a QoS 1 PUBACK is owed).
   */
  handle(clientId: string, topic: string, payload: Buffer, awaited: boolean, done: (err: Error | null) => void): void;
}

/** The connection's direct route: the policy's, and aedes' keepalive to refresh on each packet it does not see. */
export interface DirectRoute {
  readonly publish: DirectPublish;
  readonly activity: () => void;
}

/** Where a PUBLISH frame's parts are; the topic read once. */
export interface PublishParts {
  readonly qos: number;
  readonly topic: string;
  readonly id: number | undefined;
  readonly payloadStart: number;
}

/** Reads a checked PUBLISH frame (packet-check.ts made sure its lengths hold). */
export function publishParts(frame: Frame): PublishParts {
  const qos = (frame.flags >> 1) & 0x03;
  const b = frame.bytes;
  const topicStart = frame.bodyStart + 2;
  const topicEnd = topicStart + b.readUInt16BE(frame.bodyStart);
  const topic = b.toString("utf8", topicStart, topicEnd);
  if (qos === 0) return { qos, topic, id: undefined, payloadStart: topicEnd };
  return { qos, topic, id: b.readUInt16BE(topicEnd), payloadStart: topicEnd + 2 };
}

/** PUBACKs for the given packet ids, back to back in one buffer [MQTT-3.4]. */
export function pubacks(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 4);
  let o = 0;
  for (const id of ids) {
    out[o] = 0x40;
    out[o + 1] = 0x02;
    out.writeUInt16BE(id, o + 2);
    o += 4;
  }
  return out;
}
