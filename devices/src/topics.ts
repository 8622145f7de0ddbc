/**
 * The MQTT topic scheme between devices and the edge broker (docs/mqtt-topics.md).
 * Every topic of a device lives under `bv/{deviceId}/`; the ACL grants a device nothing else.
 */

export const TOPIC_ROOT = "bv";

export type TopicKind = "telemetry" | "command" | "command-result" | "status";

const SUFFIX: Record<TopicKind, string> = {
  telemetry: "telemetry",
  command: "cmd",
  "command-result": "cmd/result",
  status: "status",
};

/** Device ids: 1-64 chars of letters, digits, `-`, `_`, `.`; never MQTT wildcards or `/`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

export function topicFor(deviceId: string, kind: TopicKind): string {
  return `${TOPIC_ROOT}/${deviceId}/${SUFFIX[kind]}`;
}

export interface ParsedTopic {
  readonly deviceId: string;
  readonly kind: TopicKind;
}

/** Parses a concrete topic (no wildcards); undefined when it is not one of ours. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split("/");
  if (parts[0] !== TOPIC_ROOT || parts.length < 3) return undefined;
  const deviceId = parts[1] ?? "";
  if (!isValidDeviceId(deviceId)) return undefined;
  const rest = parts.slice(2).join("/");
  for (const [kind, suffix] of Object.entries(SUFFIX) as [TopicKind, string][]) {
    if (rest === suffix) return { deviceId, kind };
  }
  return undefined;
}

/**
 * True when the topic filter only matches topics of `deviceId` (`bv/{deviceId}/...`).
 * Wildcards are allowed below the device level only: `bv/+/cmd` or `#` are refused.
 */
export function isFilterWithinDevice(filter: string, deviceId: string): boolean {
  const parts = filter.split("/");
  if (parts[0] !== TOPIC_ROOT || parts[1] !== deviceId || parts.length < 3) return false;
  return true;
}
