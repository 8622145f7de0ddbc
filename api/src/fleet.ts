/** The device catalog, sites, edges and devices: the fleet read model. */
import { z } from "zod";
import { EpochMs, intQuery, NoContent, route, Value } from "./common.js";

const ParamDef = z.object({
  name: z.string(),
  type: z.enum(["number", "integer", "boolean", "enum", "string"]),
  description: z.string(),
  required: z.boolean(),
  unit: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  values: z.array(z.string()).optional(),
  maxLength: z.number().int().optional(),
});
export type ParamDef = z.infer<typeof ParamDef>;

const MetricDef = z.object({
  name: z.string(),
  type: z.enum(["number", "integer", "boolean", "enum"]),
  unit: z.string(),
  description: z.string(),
  min: z.number().optional(),
  max: z.number().optional(),
  normal: z.object({ min: z.number(), max: z.number() }).optional(),
  values: z.array(z.string()).optional(),
});
export type MetricDef = z.infer<typeof MetricDef>;

const CommandDef = z.object({ name: z.string(), description: z.string(), params: z.array(ParamDef) });
export type CommandDef = z.infer<typeof CommandDef>;

/** POST /api/devices/:id/move: the edge that owns the device from now on. */
export const MoveDeviceBody = z.strictObject({ edgeId: z.string().min(1).max(64) });
export type MoveDeviceBody = z.infer<typeof MoveDeviceBody>;

/** A device type of the catalog (@bitvelocity/devices); protocol mappings are passed through as they are. */
export const DeviceType = z.object({
  type: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.enum(["sensor", "meter", "plc", "retail", "tracker", "actuator"]),
  metrics: z.array(MetricDef),
  commands: z.array(CommandDef),
  /** How the type speaks each protocol (register and node maps); see @bitvelocity/devices. */
  protocols: z.object({
    mqtt: z.object({ telemetryIntervalMs: z.number() }).optional(),
    modbus: z.unknown().optional(),
    opcua: z.unknown().optional(),
  }),
});
export type DeviceType = z.infer<typeof DeviceType>;

export const Site = z.object({
  id: z.string(),
  name: z.string(),
  edges: z.number().int(),
  devices: z.number().int(),
  online_devices: z.number().int(),
});
export type Site = z.infer<typeof Site>;

/** What an edge last reported about its outbox, link and connectors. */
export const EdgeStatus = z.object({
  outboxReadings: z.number(),
  outboxBytes: z.number(),
  oldestAgeSeconds: z.number(),
  deadLetters: z.number(),
  drainRate: z.number(),
  etaSeconds: z.number(),
  devicesConnected: z.number(),
  timeMs: EpochMs,
  connectors: z.array(z.object({ id: z.string(), kind: z.string(), state: z.string(), detail: z.string() })).optional(),
  evictedReadings: z.number(),
  gaps: z.number(),
  bytesWritten: z.number(),
  bytesWrittenPerDay: z.number(),
  budgetBytes: z.number(),
  clockSynced: z.boolean(),
  alarms: z.array(z.string()),
  controlPending: z.number(),
  uptimeSeconds: z.number(),
});
export type EdgeStatus = z.infer<typeof EdgeStatus>;

export const Edge = z.object({
  id: z.string(),
  siteId: z.string(),
  name: z.string(),
  online: z.boolean(),
  lastSeen: EpochMs.nullable(),
  connectedAt: EpochMs.nullable(),
  agentVersion: z.string().nullable(),
  bootId: z.string().nullable(),
  clockOffsetMs: z.number().nullable(),
  status: EdgeStatus.nullable(),
});
export type Edge = z.infer<typeof Edge>;

export const LatestValue = z.object({ value: Value, ts: EpochMs });
export type LatestValue = z.infer<typeof LatestValue>;

export const Device = z.object({
  id: z.string(),
  edgeId: z.string(),
  siteId: z.string(),
  type: z.string(),
  name: z.string(),
  online: z.boolean(),
  lastSeen: EpochMs.nullable(),
  latest: z.record(z.string(), LatestValue),
});
export type Device = z.infer<typeof Device>;

/** Readings the edge gave up on (budget, TTL, corrupt file): a hole in the data. */
export const Gap = z.object({
  edgeId: z.string(),
  lane: z.string(),
  firstSeq: z.number().int(),
  lastSeq: z.number().int(),
  count: z.number().int(),
  fromMs: EpochMs,
  toMs: EpochMs,
  reason: z.string(),
  receivedAtMs: EpochMs,
});
export type Gap = z.infer<typeof Gap>;

/** A reading refused at the edge or by the cloud, with why. */
export const DeadLetter = z.object({
  edgeId: z.string(),
  source: z.enum(["edge", "cloud"]),
  deviceId: z.string(),
  seq: z.number().int().nullable(),
  topic: z.string().nullable(),
  reason: z.string(),
  payloadPreview: z.string(),
  timeMs: EpochMs,
  receivedAtMs: EpochMs,
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const DeviceQuery = z.object({
  site: z.string().optional(),
  edge: z.string().optional(),
  type: z.string().optional(),
  q: z.string().optional(),
  state: z.enum(["online", "offline"]).optional(),
});
export type DeviceQuery = z.infer<typeof DeviceQuery>;

/** Newest first; `limit` 1-1000, default 100. */
export const EdgeRecordsQuery = z.object({ limit: intQuery(1, 1000).optional() });

/** An identity made for a purchased device (commerce's devicesPurchased), awaiting its first connection. */
export const ProvisionedDevice = z.object({
  id: z.string(),
  siteId: z.string(),
  type: z.string(),
  orderId: z.string(),
  createdAt: z.number().int(),
  claimed: z.boolean(),
});
export type ProvisionedDevice = z.infer<typeof ProvisionedDevice>;

export const fleetRoutes = {
  catalog: route({
    method: "get",
    path: "/api/catalog",
    summary: "The device catalog",
    status: 200,
    response: z.object({ types: z.array(DeviceType) }),
  }),
  sites: route({
    method: "get",
    path: "/api/sites",
    summary: "Sites with counts",
    status: 200,
    response: z.object({ sites: z.array(Site) }),
  }),
  edges: route({ method: "get", path: "/api/edges", summary: "Every edge", status: 200, response: z.object({ edges: z.array(Edge) }) }),
  edge: route({ method: "get", path: "/api/edges/:id", summary: "One edge", status: 200, response: z.object({ edge: Edge }) }),
  gaps: route({
    method: "get",
    path: "/api/edges/:id/gaps",
    summary: "Gap records of the edge, newest first",
    query: EdgeRecordsQuery,
    status: 200,
    response: z.object({ gaps: z.array(Gap) }),
  }),
  deadLetters: route({
    method: "get",
    path: "/api/edges/:id/dead-letters",
    summary: "Dead letters of the edge, newest first",
    query: EdgeRecordsQuery,
    status: 200,
    response: z.object({ deadLetters: z.array(DeadLetter) }),
  }),
  rotateEdgeToken: route({
    method: "post",
    path: "/api/edges/:id/token",
    summary: "A new credential for the edge, shown once (admin)",
    role: "admin",
    status: 201,
    response: z.object({ edgeId: z.string(), token: z.string() }),
  }),
  revokeEdge: route({
    method: "post",
    path: "/api/edges/:id/revoke",
    summary: "Refuse the edge from now on (admin)",
    role: "admin",
    status: 204,
    response: NoContent,
  }),
  devices: route({
    method: "get",
    path: "/api/devices",
    summary: "Devices, filtered",
    query: DeviceQuery,
    status: 200,
    response: z.object({ devices: z.array(Device) }),
  }),
  device: route({ method: "get", path: "/api/devices/:id", summary: "One device", status: 200, response: z.object({ device: Device }) }),
  provisioned: route({
    method: "get",
    path: "/api/provisioned-devices",
    summary: "Device identities created for purchased devices, awaiting their first connection (newest first)",
    query: z.object({ siteId: z.string().min(1).max(128).optional() }),
    status: 200,
    response: z.object({ devices: z.array(ProvisionedDevice) }),
  }),
  moveDevice: route({
    method: "post",
    path: "/api/devices/:id/move",
    summary: "Give the device to another edge (admin, audited): only its owner edge may report it or receive its commands",
    role: "admin",
    body: MoveDeviceBody,
    status: 200,
    response: z.object({ device: Device, previousEdgeId: z.string().nullable() }),
  }),
};
