/** Pure conversions between the edge's types and the EdgeSync protobuf messages. */
import type { MetricValue as DeviceMetricValue, MetricValues } from "@bitvelocity/devices";
import { type MetricValue, type DeviceInfo as ProtoDeviceInfo, Lane as ProtoLane, type Reading } from "@bitvelocity/proto";
import type { DeviceInfo } from "../../commands/device-gateway.js";
import type { Lane, StoredReading } from "../../outbox/types.js";

const laneToProto: Record<Lane, ProtoLane> = {
  control: ProtoLane.LANE_CONTROL,
  alarm: ProtoLane.LANE_ALARM,
  telemetry: ProtoLane.LANE_TELEMETRY,
};

export function toProtoLane(lane: Lane): ProtoLane {
  return laneToProto[lane];
}

export function toMetricValue(v: DeviceMetricValue): MetricValue {
  if (typeof v === "number") return { kind: { $case: "number", number: v } };
  if (typeof v === "boolean") return { kind: { $case: "flag", flag: v } };
  return { kind: { $case: "text", text: v } };
}

export function toProtoValues(values: MetricValues): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  for (const [name, v] of Object.entries(values)) out[name] = toMetricValue(v);
  return out;
}

export function toProtoReading(r: StoredReading): Reading {
  return {
    seq: r.seq,
    deviceId: r.deviceId,
    deviceType: r.deviceType,
    values: toProtoValues(r.values),
    // int64 on the wire: a fractional time would fail serialisation and block the queue.
    deviceTimeMs: r.deviceTimeMs === undefined ? undefined : Math.round(r.deviceTimeMs),
    edgeTimeMs: Math.round(r.edgeTimeMs),
    bootId: r.bootId,
    uptimeMs: Math.round(r.uptimeMs),
    clockSynced: r.clockSynced,
  };
}

export function toProtoDeviceInfo(d: DeviceInfo): ProtoDeviceInfo {
  return { deviceId: d.deviceId, deviceType: d.deviceType, name: d.name, online: d.online, lastSeenMs: d.lastSeenMs };
}

/** Our bound, tightened by the cloud's when it gives one (0 = the cloud sets no bound). */
export function tighter(ours: number, theirs: number): number {
  return theirs > 0 ? Math.min(ours, theirs) : ours;
}
