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
  /** Added by the issue 3 edge status; absent from older edges. */
  evictions?: number;
  evictedReadings?: number;
  gaps?: number;
  linkState?: string;
  connectors?: Array<{ id: string; kind: string; state: string; detail: string }>;
  bytesWritten?: number;
  bytesWrittenPerDay?: number;
  budgetBytes?: number;
  clockSynced?: boolean;
  alarms?: string[];
  controlPending?: number;
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

export type AlertState = "open" | "acknowledged" | "resolved";
export type Severity = "info" | "warning" | "critical";

export interface Alert {
  id: string;
  ruleId: string;
  ruleName: string;
  kind: string;
  severity: Severity;
  subjectKind: "device" | "edge";
  subjectId: string;
  message: string;
  value: number | null;
  state: AlertState;
  active: boolean;
  firedAt: number;
  clearedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
}

export type RuleKind = "metric_threshold" | "device_offline" | "outbox_backlog" | "gap_detected";

export interface AlertRule {
  id: string;
  name: string;
  kind: RuleKind;
  severity: Severity;
  enabled: boolean;
  params: Record<string, unknown>;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface RuleInput {
  name: string;
  kind: RuleKind;
  severity: Severity;
  enabled: boolean;
  params: Record<string, unknown>;
}

/** Gap records and dead letters of an edge (issue 3 contract). */
export interface Gap {
  lane: number | string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  fromMs: number;
  toMs: number;
  reason: string;
  receivedAtMs: number;
}

export interface DeadLetter {
  source: "edge" | "cloud";
  deviceId: string;
  seq: number | null;
  topic: string | null;
  reason: string;
  payloadPreview: string;
  timeMs: number;
  receivedAtMs: number;
}

export interface ApiToken {
  id: string;
  name: string;
  username: string;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revoked: boolean;
}

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  via: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}
