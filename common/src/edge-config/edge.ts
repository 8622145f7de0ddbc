/**
 * The edge agent's configuration schema (DESIGN.md §7), shared by the agent (its YAML file) and
 * the cloud (remote configuration documents it validates before sending them to the edge).
 */
import { deviceType, deviceTypeNames, isValidDeviceId } from "@bitvelocity/devices";
import { z } from "zod";
import { isSecretHash } from "../secrets.js";
import { brokerLimitsSchema, brokerTlsSchema } from "./broker-limits.js";
import { connectorConfigSchema } from "./connectors.js";
import { remoteConfigSchema } from "./remote.js";
import { deviceReportSchema } from "./report.js";
import { uplinkSchema } from "./uplink.js";

const port = z.number().int().min(0).max(65_535);

export const deviceConfigSchema = z
  .object({
    id: z.string().refine(isValidDeviceId, "not a valid device id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"),
    type: z.string().refine((t) => deviceType(t) !== undefined, {
      error: (issue) => `unknown device type ${JSON.stringify(issue.input)} (known: ${deviceTypeNames().join(", ")})`,
    }),
    name: z.string().min(1).optional(),
    secret_hash: z.string().refine(isSecretHash, "not a secret hash (make one with `bv-edge hash-secret`)"),
    /** When a value is worth a reading (pipeline/filter.ts); default: every value. */
    report: deviceReportSchema.optional(),
  })
  .strict();

export type DeviceConfig = z.output<typeof deviceConfigSchema>;

/** The string `id`s of a list that may not have parsed (cross-field checks run beside type errors). */
export function idsOf(list: unknown): (string | undefined)[] {
  return Array.isArray(list)
    ? list.map((d: unknown) =>
        typeof d === "object" && d !== null && typeof Reflect.get(d, "id") === "string" ? String(Reflect.get(d, "id")) : undefined,
      )
    : [];
}

function noDuplicateIds(devices: unknown, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  idsOf(devices).forEach((id, i) => {
    if (id === undefined) return;
    if (seen.has(id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate device id ${id}` });
    seen.add(id);
  });
}

/** Cross-field checks run even when a field has a type error, so one pass lists every problem. */
const always = { when: () => true };

/** A lane's policy when the budget is reached, and how long its readings may wait (0 = forever). */
function lanePolicySchema(policy: "drop-oldest" | "drop-newest" | "reject", ttlHours: number) {
  return z
    .object({
      policy: z.enum(["drop-oldest", "drop-newest", "reject"]).default(policy),
      ttl_hours: z
        .number()
        .min(0)
        .max(24 * 3650)
        .default(ttlHours),
    })
    .strict()
    .prefault({});
}

const devicesSchema = z.array(deviceConfigSchema).superRefine(noDuplicateIds, always);

export const edgeConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    edge_id: z
      .string({ error: "required (set edge_id or BV_EDGE_ID)" })
      .refine(isValidDeviceId, "not a valid edge id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"),
    site_id: z.string().min(1).default("default"),
    data_dir: z.string().min(1).default("./data/edge"),
    mqtt: z
      .object({
        host: z.string().min(1).default("0.0.0.0"),
        port: port.default(1883),
        /** MQTT over WebSocket; null disables it. */
        ws_port: port.nullable().default(8083),
        limits: brokerLimitsSchema,
        /** MQTTS; absent: no TLS listener. */
        tls: brokerTlsSchema.optional(),
      })
      .strict()
      .prefault({}),
    http: z
      .object({ host: z.string().min(1).default("0.0.0.0"), port: port.default(8081) })
      .strict()
      .prefault({}),
    outbox: z
      .object({
        /** Group commit window: appends within it share one transaction (one fsync). */
        commit_interval_ms: z.number().int().min(0).max(1000).default(10),
        /** Appends waiting for a commit before new ones are refused (back-pressure). */
        max_pending: z.number().int().min(1).max(1_000_000).default(5000),
        /** The outbox never takes more of the disk than this (it is lowered further when the disk is short). */
        budget_mb: z.number().min(1).max(1_000_000).default(256),
        /** `full`: every group commit is fsynced (a PUBACK survives a power cut); `normal`: faster, not that. */
        synchronous: z.enum(["full", "normal"]).default("full"),
        lanes: z
          .object({ telemetry: lanePolicySchema("drop-oldest", 7 * 24), alarm: lanePolicySchema("drop-oldest", 30 * 24) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** How the agent trades memory for CPU (edge/src/runtime/heap-mode.ts, ADR 012). */
    memory: z
      .object({
        /** While busy (event loop ≥ 80 %) and under rss_limit_mb, V8's heap may grow for throughput; else it stays compact. */
        adaptive_heap: z.boolean().default(true),
        /** The RSS at which a busy agent goes back to a compact heap. */
        rss_limit_mb: z.number().int().min(32).max(65_536).default(160),
      })
      .strict()
      .prefault({}),
    devices_file: z.string().min(1).optional(),
    devices: devicesSchema.default([]),
    uplink: uplinkSchema,
    /** Southbound connectors (OPC UA, Modbus RTU/TCP), each with its own devices. */
    connectors: z.array(connectorConfigSchema).default([]),
    /** Configuration from the cloud (edge/src/remote-config): on by default, with automatic rollback. */
    remote_config: remoteConfigSchema,
  })
  .strict()
  .superRefine((c: unknown, ctx) => {
    const raw = (key: string): unknown => (typeof c === "object" && c !== null ? Reflect.get(c, key) : undefined);
    const owner = new Map<string, string>();
    for (const id of idsOf(raw("devices"))) if (id !== undefined) owner.set(id, "devices");
    const connectors = Array.isArray(raw("connectors")) ? (raw("connectors") as unknown[]) : [];
    const connectorIds = new Set<string>();
    idsOf(connectors).forEach((kid, i) => {
      if (kid !== undefined && connectorIds.has(kid))
        ctx.addIssue({ code: "custom", path: ["connectors", i, "id"], message: `duplicate connector id ${kid}` });
      if (kid !== undefined) connectorIds.add(kid);
      const k = connectors[i];
      idsOf(typeof k === "object" && k !== null ? Reflect.get(k, "devices") : undefined).forEach((id, j) => {
        if (id === undefined) return;
        const other = owner.get(id);
        if (other)
          ctx.addIssue({ code: "custom", path: ["connectors", i, "devices", j, "id"], message: `device id ${id} is also in ${other}` });
        owner.set(id, `connector ${kid ?? i}`);
      });
    });
  }, always);

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
