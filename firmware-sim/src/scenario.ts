/**
 * A simulation scenario: which fleets of which catalog types, against which broker. One YAML file,
 * `BV_MQTT_URL` / `BV_FLEET_SECRET` from the environment, CLI overrides; every problem listed at once.
 */
import { loadConfig } from "@bitvelocity/common";
import { deviceType, deviceTypeNames, isValidDeviceId } from "@bitvelocity/devices";
import { z } from "zod";
import { failureSchema } from "./failures.js";
import { type SignalSpec, signalSpecSchema, specMetrics } from "./signals/generators.js";

/** Device ids are `${id_prefix}${index}`, the index 1-based and zero-padded to this many digits. */
export const ID_DIGITS = 4;

export function deviceIdFor(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(ID_DIGITS, "0")}`;
}

const asString = (v: unknown) => (typeof v === "number" ? String(v) : v);

export const fleetSchema = z
  .object({
    type: z.string().refine((t) => deviceType(t)?.protocols.mqtt !== undefined, {
      error: (issue) => `unknown or non-MQTT device type ${JSON.stringify(issue.input)} (known: ${deviceTypeNames().join(", ")})`,
    }),
    count: z.number().int().min(1).max(100_000),
    id_prefix: z.string().min(1).max(58).optional(),
    interval_ms: z.number().int().min(50).max(86_400_000).optional(),
    /** Telemetry payloads are padded to at least this many bytes (0: no padding). */
    payload_bytes: z.number().int().min(0).max(16_384).default(0),
    signals: z.array(signalSpecSchema).default([]),
    /** false: the device has no real-time clock and stamps 1970 + uptime until it synced. */
    rtc: z.boolean().default(true),
    /** How long after connecting a device without RTC gets its time (SNTP). */
    clock_sync_ms: z.number().int().min(0).max(3_600_000).default(2_000),
    /** Readings kept while offline and sent after the reconnect (0: skipped, as before). */
    offline_queue: z.number().int().min(0).max(100_000).default(0),
    /** true: the retry queue and unacknowledged messages survive a power cycle (kept in flash). */
    persist_queue: z.boolean().default(false),
  })
  .strict();

export const scenarioSchema = z
  .object({
    version: z.literal(1),
    seed: z.number().int().default(42),
    broker: z
      .object({
        url: z.string().regex(/^(mqtts?|tcp|tls|wss?):\/\/[^\s]+$/, "expected an mqtt://host:port URL"),
        connect_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
      })
      .strict()
      .default({ url: "mqtt://127.0.0.1:1883", connect_timeout_ms: 10_000 }),
    fleet_secret: z.preprocess(asString, z.string().min(8, "must be at least 8 characters")).default("demo-fleet-secret"),
    qos: z.union([z.literal(0), z.literal(1)]).default(1),
    duration_s: z.number().min(0).default(0),
    fleets: z.array(fleetSchema).min(1, "at least one fleet is required"),
    failures: z.array(failureSchema).default([]),
    /** Spread the devices over this many simulator processes (round robin). */
    processes: z.number().int().min(1).max(64).default(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.fleets.forEach((f, i) => {
      const prefix = f.id_prefix ?? `${f.type}-`;
      const first = deviceIdFor(prefix, 1);
      const last = deviceIdFor(prefix, f.count);
      for (const id of [first, last]) {
        if (!isValidDeviceId(id))
          ctx.addIssue({ code: "custom", path: ["fleets", i, "id_prefix"], message: `device id ${id} is not valid` });
      }
      const other = seen.get(prefix);
      if (other !== undefined) {
        ctx.addIssue({ code: "custom", path: ["fleets", i, "id_prefix"], message: `id prefix ${prefix} is also used by fleet ${other}` });
      }
      seen.set(prefix, i);
      const type = deviceType(f.type);
      f.signals.forEach((spec, j) => {
        for (const metric of specMetrics(spec)) {
          const def = type?.metrics.find((m) => m.name === metric);
          if (type && (!def || (def.type !== "number" && def.type !== "integer")))
            ctx.addIssue({ code: "custom", path: ["fleets", i, "signals", j], message: `${f.type} has no numeric metric ${metric}` });
        }
      });
    });
    s.failures.forEach((failure, i) => {
      if (failure.id_prefix !== undefined && !s.fleets.some((f) => (f.id_prefix ?? `${f.type}-`) === failure.id_prefix))
        ctx.addIssue({ code: "custom", path: ["failures", i, "id_prefix"], message: `no fleet has id prefix ${failure.id_prefix}` });
    });
  })
  .transform((s) => ({
    ...s,
    fleets: s.fleets.map((f) => ({
      type: f.type,
      count: f.count,
      id_prefix: f.id_prefix ?? `${f.type}-`,
      interval_ms: f.interval_ms ?? deviceType(f.type)?.protocols.mqtt?.telemetryIntervalMs ?? 5_000,
      payload_bytes: f.payload_bytes,
      signals: f.signals as SignalSpec[],
      rtc: f.rtc,
      clock_sync_ms: f.clock_sync_ms,
      offline_queue: f.offline_queue,
      persist_queue: f.persist_queue,
    })),
  }));

export type Scenario = z.output<typeof scenarioSchema>;
export type FleetSpec = Scenario["fleets"][number];

export const scenarioEnv = { BV_MQTT_URL: "broker.url", BV_FLEET_SECRET: "fleet_secret" } as const;

/** Loads and validates a scenario; throws ConfigError listing every problem. */
export function loadScenario(file: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Scenario {
  return loadConfig(scenarioSchema, { file, env, envMap: scenarioEnv, overrides });
}
