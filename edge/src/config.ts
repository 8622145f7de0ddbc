/**
 * The edge agent's configuration (DESIGN.md §7): one YAML file, `BV_*` environment overrides,
 * validated once by the shared schema (common/src/edge-config), which holds the defaults. Every problem is reported at once.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError, formatIssues, loadConfig, readConfigFile } from "@bitvelocity/common";
import { type DeviceConfig, deviceConfigSchema, type EdgeConfig, edgeConfigSchema, idsOf } from "@bitvelocity/common/edge-config";
import { z } from "zod";

export { type DeviceConfig, deviceConfigSchema, type EdgeConfig, edgeConfigSchema } from "@bitvelocity/common/edge-config";

export const edgeEnvMap = {
  BV_EDGE_ID: "edge_id",
  BV_MQTT_PORT: "mqtt.port",
  BV_MQTT_WS_PORT: "mqtt.ws_port",
  BV_EDGE_HTTP_PORT: "http.port",
  BV_DATA_DIR: "data_dir",
  BV_CLOUD_URL: "uplink.url",
  BV_EDGE_TOKEN: "uplink.token",
  BV_KAFKA_BROKERS: "uplink.kafka.brokers",
} as const;

const devicesFileSchema = z.object({ version: z.literal(1).optional(), devices: z.array(deviceConfigSchema).default([]) }).strict();

function readDevicesFile(path: string, problems: string[]): DeviceConfig[] {
  let raw: Record<string, unknown>;
  try {
    raw = readConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
    return [];
  }
  const parsed = devicesFileSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...formatIssues(parsed.error.issues).map((p) => `${path}: ${p}`));
    return [];
  }
  return parsed.data.devices;
}

/** A top-level value as written, even when the rest of the config is invalid (so its problems are listed too). */
function rawValue(key: string, file: string | undefined, overrides: Record<string, unknown>): unknown {
  if (key in overrides) return overrides[key];
  if (!file) return undefined;
  try {
    return readConfigFile(file)[key];
  } catch {
    return undefined;
  }
}

function resolveUplinkTls(tls: EdgeConfig["uplink"]["tls"], baseDir: string): EdgeConfig["uplink"]["tls"] {
  const out = { ...tls };
  for (const key of ["ca_file", "cert_file", "key_file"] as const) {
    const file = tls[key];
    if (file) out[key] = resolve(baseDir, file);
  }
  return out;
}

function resolveTlsFiles(tls: NonNullable<EdgeConfig["mqtt"]["tls"]>, baseDir: string): NonNullable<EdgeConfig["mqtt"]["tls"]> {
  return {
    ...tls,
    cert_file: resolve(baseDir, tls.cert_file),
    key_file: resolve(baseDir, tls.key_file),
    ...(tls.ca_file ? { ca_file: resolve(baseDir, tls.ca_file) } : {}),
  };
}

/**
 * Loads and validates the edge config. Relative `data_dir` and `devices_file` resolve against the
 * config file's directory (against the working directory when they come from the environment).
 */
export function loadEdgeConfig(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Record<string, unknown> = {},
  /** A remote configuration document laid over the file and environment (remote-config/). */
  remote?: Record<string, unknown>,
): EdgeConfig {
  const problems: string[] = [];
  let config: EdgeConfig | undefined;
  try {
    config = loadConfig(edgeConfigSchema, { file, env, envMap: edgeEnvMap, overrides, layers: remote ? [remote] : [] });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const devicesFile = config ? config.devices_file : rawValue("devices_file", file, overrides);
  let fileDevices: DeviceConfig[] = [];
  if (typeof devicesFile === "string") {
    const path = resolve(baseDir, devicesFile);
    fileDevices = readDevicesFile(path, problems);
    // Checked against the config as written when it did not parse: every problem in one pass.
    const inline = new Set(config ? config.devices.map((d) => d.id) : idsOf(rawValue("devices", file, overrides)));
    const onConnectors = new Set(
      config
        ? config.connectors.flatMap((k) => k.devices.map((d) => d.id))
        : [rawValue("connectors", file, overrides)].flatMap((list) =>
            Array.isArray(list)
              ? list.flatMap((k: unknown) => idsOf(typeof k === "object" && k !== null ? Reflect.get(k, "devices") : []))
              : [],
          ),
    );
    for (const d of fileDevices) {
      if (inline.has(d.id)) problems.push(`devices: device id ${d.id} is in both devices and ${path}`);
      if (onConnectors.has(d.id)) problems.push(`devices: device id ${d.id} is in both a connector and ${path}`);
    }
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  const dataDirFromEnv = Boolean(env.BV_DATA_DIR) && !("data_dir" in overrides);
  return {
    ...config,
    data_dir: isAbsolute(config.data_dir) ? config.data_dir : resolve(dataDirFromEnv ? process.cwd() : baseDir, config.data_dir),
    ...(config.devices_file ? { devices_file: resolve(baseDir, config.devices_file) } : {}),
    ...(config.mqtt.tls ? { mqtt: { ...config.mqtt, tls: resolveTlsFiles(config.mqtt.tls, baseDir) } } : {}),
    uplink: { ...config.uplink, tls: resolveUplinkTls(config.uplink.tls, baseDir) },
    devices: [...config.devices, ...fileDevices],
  };
}
