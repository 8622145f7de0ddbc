/**
 * The event catalogue between cloud domains (DESIGN.md §4): past-tense facts, plain data.
 * Domains never import one another; they emit and listen to these on the EventBus.
 */
import type { CommerceEvents } from "./events-commerce.js";
import type { EdgeConfigEvents } from "./events-edge-config.js";

export type * from "./events-commerce.js";
export type * from "./events-edge-config.js";

export type Value = number | boolean | string;

/** A reading as committed to the telemetry store (only rows actually inserted). */
export interface CommittedReading {
  readonly seq: number;
  readonly deviceId: string;
  readonly deviceType: string;
  /** device_time_ms if the device stamped one, else edge_time_ms. */
  readonly ts: number;
  readonly values: Readonly<Record<string, Value>>;
}

export interface ReadingsCommitted {
  readonly edgeId: string;
  readonly siteId: string;
  readonly replay: boolean;
  readonly readings: readonly CommittedReading[];
}

export interface EdgeDeviceInfo {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly name: string;
  readonly online: boolean;
  /** 0 when the edge has not seen it since boot. */
  readonly lastSeenMs: number;
}

export interface EdgeConnected {
  readonly edgeId: string;
  readonly siteId: string;
  readonly bootId: string;
  readonly agentVersion: string;
  readonly clockOffsetMs: number;
  readonly connectedAt: number;
  readonly devices: readonly EdgeDeviceInfo[];
  /** The agent's package architecture ("arm64", "armhf", "amd64"; "" from an agent that does not say). */
  readonly arch?: string;
  /** The remote configuration version the edge runs (Hello.config_version; 0: its file alone). */
  readonly configVersion?: number;
}

export interface EdgeDisconnected {
  readonly edgeId: string;
  readonly at: number;
  readonly reason: string;
}

export interface EdgeStatusSnapshot {
  readonly outboxReadings: number;
  readonly outboxBytes: number;
  readonly oldestAgeSeconds: number;
  readonly deadLetters: number;
  readonly drainRate: number;
  readonly etaSeconds: number;
  readonly devicesConnected: number;
  readonly timeMs: number;
  /** Southbound connectors (OPC UA, Modbus, …) and their states, as the edge reports them. */
  readonly connectors?: readonly { readonly id: string; readonly kind: string; readonly state: string; readonly detail: string }[];
  readonly evictedReadings: number;
  readonly gaps: number;
  /** Bytes the outbox wrote since the agent started, and per day at that pace (SD-card wear). */
  readonly bytesWritten: number;
  readonly bytesWrittenPerDay: number;
  readonly budgetBytes: number;
  readonly clockSynced: boolean;
  readonly alarms: readonly string[];
  readonly controlPending: number;
  readonly uptimeSeconds: number;
}

export interface EdgeStatusReceived {
  readonly edgeId: string;
  readonly agentVersion: string;
  readonly status: EdgeStatusSnapshot;
}

/** A signed agent release the releases domain offers to one connected edge (ingest sends it as ReleaseOffer). */
export interface ReleaseOffered {
  readonly edgeId: string;
  readonly version: string;
  readonly arch: string;
  /** Where the edge downloads it: a path on the cloud's HTTPS origin (the edge resolves it against the URL it claimed from). */
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
  /** base64 ed25519 signature of the release manifest. */
  readonly signature: string;
  readonly healthDeadlineS: number;
}

/** An edge's UpdateReport: where its agent update stands. */
export interface UpdateReported {
  readonly edgeId: string;
  readonly version: string;
  readonly state: string;
  readonly error: string;
  readonly runningVersion: string;
  readonly timeMs: number;
}

export interface DevicePresenceChanged {
  readonly edgeId: string;
  readonly deviceId: string;
  readonly online: boolean;
  readonly timeMs: number;
  readonly reason: string;
}

export type CommandState = "pending" | "delivered" | "succeeded" | "failed" | "expired" | "rejected";

export interface CommandResultReceived {
  readonly edgeId: string;
  readonly commandId: string;
  readonly deviceId: string;
  readonly status: CommandState;
  readonly message: string;
  readonly result: unknown;
  readonly timeMs: number;
}

export interface CommandRequested {
  readonly commandId: string;
  readonly edgeId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly params: Readonly<Record<string, Value>>;
  readonly expiresAtMs: number;
}

export interface DeadLetterReceived {
  readonly edgeId: string;
  /** Refused at the edge (payload did not match the profile) or by the cloud (reading invalid here). */
  readonly source: "edge" | "cloud";
  readonly deviceId: string;
  readonly seq: number | null;
  readonly topic: string | null;
  readonly reason: string;
  readonly payloadPreview: string;
  readonly timeMs: number;
  readonly receivedAtMs: number;
}

/** An edge had to evict readings (budget, TTL, corrupt file): a hole in the data, not silence. */
export interface GapRecorded {
  readonly edgeId: string;
  readonly lane: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Readings missing in the range (0 = unknown, after a corrupt outbox). */
  readonly count: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly reason: string;
  readonly receivedAtMs: number;
}

/** Read models fleet publishes for the live fan-out and the API. */
export interface DeviceSummary {
  readonly id: string;
  readonly edgeId: string;
  readonly siteId: string;
  readonly type: string;
  readonly name: string;
  readonly online: boolean;
  readonly lastSeen: number | null;
  readonly latest: Readonly<Record<string, { readonly value: Value; readonly ts: number }>>;
}

export interface EdgeSummary {
  readonly id: string;
  readonly siteId: string;
  readonly name: string;
  readonly online: boolean;
  readonly lastSeen: number | null;
  readonly connectedAt: number | null;
  readonly agentVersion: string | null;
  readonly bootId: string | null;
  readonly clockOffsetMs: number | null;
  readonly status: EdgeStatusSnapshot | null;
}

export interface CommandView {
  readonly id: string;
  readonly deviceId: string;
  readonly edgeId: string;
  readonly name: string;
  readonly params: Readonly<Record<string, Value>>;
  readonly status: CommandState;
  readonly message: string | null;
  readonly result: unknown;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
  readonly requestedBy: string;
}

export interface CloudEvents extends CloudEventsAlerts, CommerceEvents, EdgeConfigEvents {
  readingsCommitted: ReadingsCommitted;
  edgeConnected: EdgeConnected;
  edgeDisconnected: EdgeDisconnected;
  edgeStatusReceived: EdgeStatusReceived;
  devicePresenceChanged: DevicePresenceChanged;
  commandResultReceived: CommandResultReceived;
  deadLetterReceived: DeadLetterReceived;
  gapRecorded: GapRecorded;
  commandRequested: CommandRequested;
  releaseOffered: ReleaseOffered;
  updateReported: UpdateReported;
  deviceUpdated: DeviceSummary;
  edgeUpdated: EdgeSummary;
  commandUpdated: CommandView;
}

export type AlertState = "open" | "acknowledged" | "resolved";

/** An alert as the API and the live fan-out show it (alerts domain read model). */
export interface AlertView {
  readonly id: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly kind: string;
  readonly severity: "info" | "warning" | "critical";
  readonly subjectKind: "device" | "edge";
  readonly subjectId: string;
  readonly message: string;
  readonly value: number | null;
  readonly state: AlertState;
  /** Whether the condition still holds (a gap stays "active" until someone resolves it). */
  readonly active: boolean;
  readonly firedAt: number;
  readonly clearedAt: number | null;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
}

export interface CloudEventsAlerts {
  alertUpdated: AlertView;
}
