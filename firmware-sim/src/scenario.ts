/**
 * A simulation scenario: which fleets of which catalog types, against which broker. One YAML file,
 * `BV_MQTT_URL` / `BV_FLEET_SECRET` from the environment, CLI overrides; every problem listed at once.
 */
import { loadConfig } from "@bitvelocity/common";
import { deviceType, deviceTypeNames, isValidDeviceId } from "@bitvelocity/devices";
import { z } from "zod";

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
    });
  })
  .transform((s) => ({
    ...s,
    fleets: s.fleets.map((f) => ({
      type: f.type,
      count: f.count,
      id_prefix: f.id_prefix ?? `${f.type}-`,
      interval_ms: f.interval_ms ?? deviceType(f.type)?.protocols.mqtt?.telemetryIntervalMs ?? 5_000,
    })),
  }));

export type Scenario = z.output<typeof scenarioSchema>;
export type FleetSpec = Scenario["fleets"][number];

export const scenarioEnv = { BV_MQTT_URL: "broker.url", BV_FLEET_SECRET: "fleet_secret" } as const;

/** Loads and validates a scenario; throws ConfigError listing every problem. */
export function loadScenario(file: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Scenario {
  return loadConfig(scenarioSchema, { file, env, envMap: scenarioEnv, overrides });
}
