/** Shapes of the bv-cloud REST API and live events, as the dashboard reads them. */
import type { CommandDef, DeviceType, MetricDef, ParamDef } from "../../../../devices/src/types.js";

export type { CommandDef, DeviceType, MetricDef, ParamDef };

export type Timestamp = number | string;
export type Role = "viewer" | "operator" | "admin";

export interface User {
  username: string;
  role: Role | string;
}

export interface Site {
  id: string;
  name: string;
  edges: number;
  devices: number;
  online_devices: number;
}

export interface EdgeStatus {
  outboxReadings: number;
  outboxBytes: number;
  oldestAgeSeconds: number;
  deadLetters: number;
  drainRate: number;
  etaSeconds: number | null;
  devicesConnected: number;
  timeMs: number;
}

export interface Edge {
  id: string;
  siteId: string;
  name: string;
  online: boolean;
  lastSeen: Timestamp | null;
  connectedAt: Timestamp | null;
  agentVersion: string | null;
  bootId: string | null;
  clockOffsetMs: number | null;
  status: EdgeStatus | null;
}

export interface LatestValue {
  value: unknown;
  ts: Timestamp;
}

export interface Device {
  id: string;
  edgeId: string;
  siteId: string;
  type: string;
  name: string;
  online: boolean;
  lastSeen: Timestamp | null;
  latest: Record<string, LatestValue>;
}

export interface SeriesPoint {
  ts: Timestamp;
  min: number | null;
  max: number | null;
  avg: number | null;
  count: number;
}

export interface Reading {
  seq: number;
  ts: Timestamp;
  deviceTimeMs?: number | null;
  edgeTimeMs?: number | null;
  receivedAt?: Timestamp;
  values: Record<string, unknown>;
}

/** One element of a live `readings` event. */
export interface LiveReading {
  deviceId: string;
  seq: number;
  ts: Timestamp;
  values: Record<string, unknown>;
}

export type CommandStatus = "pending" | "delivered" | "succeeded" | "failed" | "expired" | "rejected";

export interface Command {
  id: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  status: CommandStatus | string;
  message: string | null;
  result: unknown;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface Problem {
  path: string;
  message: string;
}
