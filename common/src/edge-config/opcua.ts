/** Config of the OPC UA connector: one server endpoint, its security, and the devices it serves. */
import { deviceType } from "@bitvelocity/devices";
import { z } from "zod";
import { connectorDeviceFields, connectorIdSchema, uniqueDeviceIds } from "./connector-device.js";

/** OPC UA Part 4 §7.22.2 DataChangeFilter: deadband absolute (in engineering units) or percent (of EURange). */
const deadbandSchema = z.object({ type: z.enum(["absolute", "percent"]), value: z.number().min(0) }).strict();

const samplingFields = {
  /** Part 4 §5.12.1.2: how often the server samples the node; 0 = as fast as it can. */
  sampling_interval_ms: z.number().int().min(0).max(3_600_000).optional(),
  queue_size: z.number().int().min(1).max(1000).optional(),
  deadband: deadbandSchema.optional(),
};

const nodeSchema = z.object({ metric: z.string().min(1), node_id: z.string().min(1), ...samplingFields }).strict();

const deviceSchema = z
  .object({
    ...connectorDeviceFields,
    ...samplingFields,
    /** Replaces the catalog's node ids (e.g. `ns=2;s=Line3.GoodCount`); same metric names. */
    nodes: z.array(nodeSchema).optional(),
  })
  .strict();

const authSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("anonymous") }).strict(),
  z
    .object({
      type: z.literal("username"),
      username: z.string().min(1),
      /** Name of the environment variable holding the password (secrets never sit in the file). */
      password_env: z.string().min(1),
    })
    .strict(),
  z.object({ type: z.literal("certificate"), certificate_file: z.string().min(1), private_key_file: z.string().min(1) }).strict(),
]);

export const opcuaSchema = z
  .object({
    type: z.literal("opcua"),
    id: connectorIdSchema,
    endpoint: z.string().regex(/^opc\.tcp:\/\/[^/]+/, "expected opc.tcp://host:port[/path]"),
    security_mode: z.enum(["None", "Sign", "SignAndEncrypt"]).default("None"),
    security_policy: z
      .enum(["None", "Basic128Rsa15", "Basic256", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"])
      .default("None"),
    auth: authSchema.default({ type: "anonymous" }),
    /** Trust a server certificate the store does not know (first use). Off: the certificate lands in pki/rejected. */
    accept_unknown_server_certificate: z.boolean().default(false),
    sampling_interval_ms: z.number().int().min(0).max(3_600_000).default(1000),
    queue_size: z.number().int().min(1).max(1000).default(10),
    publishing_interval_ms: z.number().int().min(10).max(60_000).default(500),
    /** No data and no keepalive for this long: the session is taken as lost and rebuilt. */
    watchdog_ms: z.number().int().min(500).max(600_000).default(10_000),
    session_timeout_ms: z.number().int().min(1000).max(3_600_000).default(60_000),
    reconnect_initial_ms: z.number().int().min(10).max(60_000).default(500),
    reconnect_max_ms: z.number().int().min(100).max(600_000).default(10_000),
    devices: z.array(deviceSchema).min(1, "an OPC UA connector needs at least one device"),
  })
  .strict()
  .superRefine((c, ctx) => {
    uniqueDeviceIds(c.devices, ctx);
    if ((c.security_mode === "None") !== (c.security_policy === "None"))
      ctx.addIssue({
        code: "custom",
        path: ["security_policy"],
        message: "security_mode None goes with security_policy None, and only with it",
      });
    c.devices.forEach((d, i) => {
      const type = deviceType(d.type);
      if (!type) return;
      const nodes = nodesOf(d);
      if (nodes.length === 0)
        ctx.addIssue({ code: "custom", path: ["devices", i, "nodes"], message: `${d.type} has no OPC UA nodes; give nodes` });
      (d.nodes ?? []).forEach((n, j) => {
        if (!type.metrics.some((m) => m.name === n.metric))
          ctx.addIssue({ code: "custom", path: ["devices", i, "nodes", j, "metric"], message: `${n.metric} is not a metric of ${d.type}` });
        if (!/^(ns=\d+;)?[isgb]=.+$/.test(n.node_id))
          ctx.addIssue({ code: "custom", path: ["devices", i, "nodes", j, "node_id"], message: `not a node id: ${n.node_id}` });
      });
    });
  });

export type OpcuaConfig = z.output<typeof opcuaSchema>;
export type OpcuaDeviceConfig = OpcuaConfig["devices"][number];

export interface MonitoredPoint {
  readonly metric: string;
  readonly nodeId: string;
  readonly samplingIntervalMs?: number;
  readonly queueSize?: number;
  readonly deadband?: { readonly type: "absolute" | "percent"; readonly value: number };
}

/** The points in effect for a device: its own nodes, or the catalog's (with the device's sampling defaults). */
export function nodesOf(device: OpcuaDeviceConfig): MonitoredPoint[] {
  const base = {
    ...(device.sampling_interval_ms === undefined ? {} : { samplingIntervalMs: device.sampling_interval_ms }),
    ...(device.queue_size === undefined ? {} : { queueSize: device.queue_size }),
    ...(device.deadband === undefined ? {} : { deadband: device.deadband }),
  };
  if (device.nodes)
    return device.nodes.map((n) => ({
      ...base,
      metric: n.metric,
      nodeId: n.node_id,
      ...(n.sampling_interval_ms === undefined ? {} : { samplingIntervalMs: n.sampling_interval_ms }),
      ...(n.queue_size === undefined ? {} : { queueSize: n.queue_size }),
      ...(n.deadband === undefined ? {} : { deadband: n.deadband }),
    }));
  return (deviceType(device.type)?.protocols.opcua?.nodes ?? []).map((n) => ({ ...base, metric: n.metric, nodeId: n.nodeId }));
}
