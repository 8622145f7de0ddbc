/**
 * bv-cloud configuration (DESIGN.md §7): one YAML file, `BV_*` environment overrides, one zod
 * schema that holds every default. Keys are snake_case; objects are strict so typos are reported.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { loadConfig } from "@bitvelocity/common";
import { z } from "zod";

const listener = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(port),
  });

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected 1-64 letters, digits, '.', '_' or '-'");

const brokers = z.preprocess(
  (v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((b) => b.trim())
          .filter((b) => b !== "")
      : v,
  z.array(z.string().regex(/^[^\s:]+:\d+$/, "expected host:port")),
);

/** DESIGN.md §5: the engines for scale. Every section defaults to the embedded engine. */
const databaseSchema = z
  .strictObject({
    engine: z.enum(["sqlite", "postgres"]).default("sqlite"),
    /** postgres://user[:password]@host:port/db (give a password through BV_DATABASE_URL). */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
      .optional(),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a lower-case SQL identifier")
      .default("public"),
    pool_size: z.number().int().min(1).max(200).default(10),
  })
  .default({ engine: "sqlite", schema: "public", pool_size: 10 });

const telemetrySchema = z
  .strictObject({
    engine: z.enum(["sqlite", "influx"]).default("sqlite"),
    influx: z
      .strictObject({
        /** InfluxDB v2 write API base URL (InfluxDB 2 or VictoriaMetrics). */
        url: z.url(),
        /** VictoriaMetrics base URL for history queries; defaults to url. */
        query_url: z.url().optional(),
        token: z.string().optional(),
        org: z.string().min(1).default("bitvelocity"),
        bucket: z.string().min(1).default("telemetry"),
        max_retries: z.number().int().min(0).max(20).default(3),
        max_pending: z.number().int().min(1).max(10_000).default(64),
        force_flush: z.boolean().default(true),
      })
      .optional(),
  })
  .default({ engine: "sqlite" });

const kafkaSchema = z
  .strictObject({
    brokers,
    client_id: z.string().min(1).default("bv-cloud"),
    telemetry_topic: z.string().min(1).default("bv.telemetry"),
    group_id: z.string().min(1).default("bv-store-writer"),
    /** Consumer-group session timeout: how long a dead store-writer holds its partitions. */
    session_timeout_ms: z.number().int().min(1000).max(300_000).default(30_000),
  })
  .optional();

export const roleSchema = z.enum(["viewer", "operator", "admin"]);

export const cloudConfigSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    data_dir: z.string().min(1).default("./data/cloud"),
    http: listener(8080).default({ host: "0.0.0.0", port: 8080 }),
    grpc: listener(50051).default({ host: "0.0.0.0", port: 50051 }),
    sites: z.array(z.strictObject({ id, name: z.string().min(1) })).default([]),
    edges: z
      .array(
        z.strictObject({
          id,
          site_id: id,
          name: z.string().min(1).optional(),
          token_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (sha256$… or scrypt$…)"),
        }),
      )
      .default([]),
    users: z
      .array(
        z.strictObject({
          username: id,
          role: roleSchema,
          password_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (scrypt$…)"),
        }),
      )
      .default([]),
    admin: z
      .strictObject({ username: id.default("admin"), password: z.string().min(8, "must be at least 8 characters").optional() })
      .default({ username: "admin" }),
    ingest: z
      .strictObject({
        credit: z.number().int().min(1).max(1000).default(4),
        max_batch_readings: z.number().int().min(1).max(100_000).default(1000),
        max_batch_bytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** gRPC keepalive ping interval to each edge; an edge that vanished is noticed within about twice this. */
        keepalive_ms: z.number().int().min(1000).default(20_000),
        /** direct: commit to the telemetry store before the Ack; kafka: publish to Kafka (acks=all) before the Ack. */
        via: z.enum(["direct", "kafka"]).default("direct"),
        /** Run the store-writer consumer (Kafka → telemetry store) in this process. */
        store_writer: z.boolean().default(false),
      })
      .default({
        credit: 4,
        max_batch_readings: 1000,
        max_batch_bytes: 1024 * 1024,
        keepalive_ms: 20_000,
        via: "direct",
        store_writer: false,
      }),
    live: z
      .strictObject({
        throttle_ms: z.number().int().min(10).max(60_000).default(250),
        max_buffered: z.number().int().min(10).max(1_000_000).default(2000),
        /** Share live fan-out and edge commands between cloud nodes through Redis (socket.io Redis adapter). */
        redis_url: z
          .string()
          .regex(/^rediss?:\/\//, "expected a redis:// URL")
          .optional(),
        /** Channel prefix in Redis; nodes of one deployment share it. */
        redis_channel: z.string().min(1).default("bv"),
      })
      .default({ throttle_ms: 250, max_buffered: 2000, redis_channel: "bv" }),
    bus: z
      .strictObject({
        /** in-process: events between domains on this node; kafka: through the events topic to every node. */
        engine: z.enum(["in-process", "kafka"]).default("in-process"),
        events_topic: z.string().min(1).default("bv.events"),
        /** How often the outbox relay looks for events a crash left behind (new ones are relayed at once). */
        relay_poll_ms: z.number().int().min(10).max(60_000).default(1000),
      })
      .default({ engine: "in-process", events_topic: "bv.events", relay_poll_ms: 1000 }),
    /** Domain events to RabbitMQ (integration/amqp): off unless url is set. */
    amqp: z
      .strictObject({
        /** amqp://user:pass@host:5672/vhost; unset = off. */
        url: z.string().min(1).optional(),
        /** The durable topic exchange events are published to (routing key `<domain>.<event>`). */
        exchange: z.string().min(1).default("bv.events"),
        /** How often the relay looks for events not yet confirmed (new ones are relayed at once). */
        relay_poll_ms: z.number().int().min(10).max(60_000).default(500),
      })
      .default({ exchange: "bv.events", relay_poll_ms: 500 }),
    database: databaseSchema,
    telemetry: telemetrySchema,
    kafka: kafkaSchema,
    session_ttl_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(12),
  })
  .superRefine((cfg, ctx) => {
    const siteIds = new Set(cfg.sites.map((s) => s.id));
    const seen = new Set<string>();
    cfg.sites.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: ["sites", i, "id"], message: `duplicate site id ${s.id}` });
      seen.add(s.id);
    });
    const edgeIds = new Set<string>();
    cfg.edges.forEach((e, i) => {
      if (edgeIds.has(e.id)) ctx.addIssue({ code: "custom", path: ["edges", i, "id"], message: `duplicate edge id ${e.id}` });
      edgeIds.add(e.id);
      if (!siteIds.has(e.site_id)) ctx.addIssue({ code: "custom", path: ["edges", i, "site_id"], message: `unknown site ${e.site_id}` });
    });
    // Engine combinations: report every missing piece at once.
    if (cfg.database.engine === "postgres" && !cfg.database.url)
      ctx.addIssue({
        code: "custom",
        path: ["database", "url"],
        message: "required when database.engine is postgres (or set BV_DATABASE_URL)",
      });
    if (cfg.telemetry.engine === "influx" && !cfg.telemetry.influx)
      ctx.addIssue({
        code: "custom",
        path: ["telemetry", "influx"],
        message: "required when telemetry.engine is influx (url, org, bucket)",
      });
    if (cfg.ingest.via === "kafka" && !cfg.kafka)
      ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when ingest.via is kafka (brokers)" });
    if (cfg.bus.engine === "kafka" && !cfg.kafka)
      ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when bus.engine is kafka (brokers)" });
    if (cfg.ingest.store_writer && !cfg.kafka)
      ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when ingest.store_writer is true (brokers)" });
    if (cfg.kafka && cfg.kafka.brokers.length === 0)
      ctx.addIssue({ code: "custom", path: ["kafka", "brokers"], message: "at least one broker (host:port) is required" });
    const users = new Set<string>();
    cfg.users.forEach((u, i) => {
      if (users.has(u.username)) ctx.addIssue({ code: "custom", path: ["users", i, "username"], message: `duplicate user ${u.username}` });
      users.add(u.username);
    });
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;
export type Role = z.output<typeof roleSchema>;

export const cloudEnvMap = {
  BV_HTTP_PORT: "http.port",
  BV_GRPC_PORT: "grpc.port",
  BV_DATA_DIR: "data_dir",
  BV_ADMIN_PASSWORD: "admin.password",
  BV_DATABASE_URL: "database.url",
  BV_KAFKA_BROKERS: "kafka.brokers",
  BV_REDIS_URL: "live.redis_url",
  BV_INFLUX_TOKEN: "telemetry.influx.token",
} as const;

/**
 * Loads and validates the config; throws ConfigError listing every problem. Relative paths
 * (data_dir) resolve against the config file's directory, or the working directory without one.
 */
export function loadCloudConfig(file?: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): CloudConfig {
  const config = loadConfig(cloudConfigSchema, { file, env, envMap: cloudEnvMap, overrides });
  const base = file ? dirname(resolve(file)) : process.cwd();
  return { ...config, data_dir: isAbsolute(config.data_dir) ? config.data_dir : resolve(base, config.data_dir) };
}
