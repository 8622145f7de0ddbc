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

/** A PEM certificate and its key. */
const tlsFiles = z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) });

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
        /** Gzip write bodies (a slow link to the engine); off: on a LAN it costs both ends CPU. */
        gzip: z.boolean().default(false),
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
    http: listener(8080)
      .extend({
        /** Origins besides the cloud's own whose pages may use a session (a dashboard served elsewhere). */
        allowed_origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "expected scheme://host[:port], no path")).default([]),
        /** The certificate HTTPS serves; without one (and without insecure) a self-signed one is made in data_dir/tls. */
        tls: tlsFiles.optional(),
        /** Serve plain HTTP (tests, a TLS-terminating proxy in front); logs a warning at start. */
        insecure: z.boolean().default(false),
      })
      .default({ host: "0.0.0.0", port: 8080, allowed_origins: [], insecure: false }),
    grpc: listener(50051)
      .extend({
        /** EdgeSync's certificate; without one (and without insecure) the same self-signed one as HTTPS. */
        tls: tlsFiles.optional(),
        /** CA that signs edge client certificates (mutual TLS); with it, every edge must present one. */
        client_ca_file: z.string().min(1).optional(),
        /** Plain-text EdgeSync (tests, dev); the edge token then crosses the network in clear. Logs a warning. */
        insecure: z.boolean().default(false),
      })
      .default({ host: "0.0.0.0", port: 50051, insecure: false }),
    // A site's name names its chat room (varchar(200) on PostgreSQL).
    sites: z
      .array(z.strictObject({ id, name: z.string().trim().min(1, "expected a name").max(200, "expected at most 200 characters") }))
      .default([]),
    edges: z
      .array(
        z.strictObject({
          id,
          site_id: id,
          name: z.string().min(1).optional(),
          token_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (sha256$… or scrypt$…)"),
          /**
           * SHA-256 fingerprint of the edge's client certificate (grpc.client_ca_file); when set the
           * edge must present that certificate, and the token alone no longer suffices.
           */
          cert_fingerprint: z
            .string()
            .regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, "expected a SHA-256 fingerprint (AA:BB:…, 32 bytes)")
            .transform((f) => f.toUpperCase())
            .optional(),
        }),
      )
      .default([]),
    users: z
      .array(
        z.strictObject({
          username: id,
          role: roleSchema,
          password_hash: z.string().regex(/^(sha256|scrypt)\$/, "expected a hash from hashSecret (scrypt$…)"),
          /** The sites this user works on (their site and order rooms in chat); absent = every site. Admins see every site. */
          sites: z.array(id).optional(),
        }),
      )
      .default([]),
    admin: z
      .strictObject({ username: id.default("admin"), password: z.string().min(8, "must be at least 8 characters").optional() })
      .default({ username: "admin" }),
    ingest: z
      .strictObject({
        credit: z.number().int().min(1).max(1000).default(4),
        /** Per batch; an edge's backlog batches (uplink.backlog_batch_readings, 3000) fit, its live ones are smaller. */
        max_batch_readings: z.number().int().min(1).max(100_000).default(4000),
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
        /**
         * A device no edge declared (in its Hello) nor an admin assigned: reject (dead-letter its
         * readings) or auto-register (the first edge reporting it owns it; for demos and tests).
         */
        undeclared_devices: z.enum(["reject", "auto-register"]).default("reject"),
      })
      .default({
        credit: 4,
        max_batch_readings: 4000,
        max_batch_bytes: 1024 * 1024,
        keepalive_ms: 20_000,
        via: "direct",
        store_writer: false,
        undeclared_devices: "reject",
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
    commerce: z
      .strictObject({
        /** The payment provider (bv-sim payments in tests and the demo). */
        payments_url: z
          .string()
          .regex(/^https?:\/\//, "expected an http:// URL")
          .default("http://127.0.0.1:8090"),
        payments_timeout_ms: z.number().int().min(10).max(60_000).default(2000),
        /** Attempts per payment call (1 = no retry); every call is idempotent by key. */
        payments_attempts: z.number().int().min(1).max(10).default(3),
        /** Consecutive failed calls that open the circuit breaker, and how long it stays open. */
        breaker_failures: z.number().int().min(1).max(1000).default(5),
        breaker_half_open_ms: z.number().int().min(10).max(600_000).default(5000),
        /** The warehouse the shop sells from, and the stock seeded there per product on first start. */
        warehouse: z.string().min(1).max(64).default("warehouse-1"),
        seed_stock: z.number().int().min(0).max(1_000_000).default(100),
        reservation_ttl_ms: z
          .number()
          .int()
          .min(1000)
          .max(86_400_000)
          .default(15 * 60_000),
        /** How often waiting checkouts (payments unavailable) are retried, at most. */
        saga_retry_max_ms: z.number().int().min(10).max(3_600_000).default(30_000),
        saga_poll_ms: z.number().int().min(10).max(60_000).default(1000),
        /**
         * The shipping carrier's SOAP endpoint (bv-sim carrier in tests and the demo), e.g.
         * http://127.0.0.1:8091/carrier; empty = no shipping labels. Its calls use the breaker settings above.
         */
        carrier_url: z.union([z.literal(""), z.string().regex(/^https?:\/\//, "expected an http:// URL or empty")]).default(""),
        carrier_timeout_ms: z.number().int().min(10).max(60_000).default(3000),
        /** Attempts per carrier call (1 = no retry); CreateShipment is idempotent by order id. */
        carrier_attempts: z.number().int().min(1).max(10).default(3),
        /** How long an order whose label failed waits before it is asked for again, at most (doubling from 500 ms). */
        label_retry_max_ms: z.number().int().min(10).max(3_600_000).default(30_000),
        /** Default low/high item counts of a smart shelf (hysteresis). */
        shelf_low: z.number().int().min(0).default(5),
        shelf_high: z.number().int().min(1).default(15),
      })
      .default({
        payments_url: "http://127.0.0.1:8090",
        payments_timeout_ms: 2000,
        payments_attempts: 3,
        breaker_failures: 5,
        breaker_half_open_ms: 5000,
        warehouse: "warehouse-1",
        seed_stock: 100,
        reservation_ttl_ms: 15 * 60_000,
        saga_retry_max_ms: 30_000,
        saga_poll_ms: 1000,
        carrier_url: "",
        carrier_timeout_ms: 3000,
        carrier_attempts: 3,
        label_retry_max_ms: 30_000,
        shelf_low: 5,
        shelf_high: 15,
      }),
    /** Domain events to RabbitMQ (integration/amqp): off unless url is set. */
    amqp: z
      .strictObject({
        /** amqp://user:pass@host:5672/vhost; unset = off. */
        url: z.string().min(1).optional(),
        /** The durable topic exchange events are published to (routing key `<domain>.<event>`). */
        exchange: z.string().min(1).default("bv.events"),
        /** How often the relay looks for events not yet confirmed (new ones are relayed at once). */
        relay_poll_ms: z.number().int().min(10).max(60_000).default(500),
        /** The durable queue warehouse shipment updates are consumed from; unset = no fulfilment consumer. */
        fulfilment_queue: z.string().min(1).optional(),
        /** The topic exchange the warehouse publishes to (`fulfilment.<stage>`), bound to the queue. */
        fulfilment_exchange: z.string().min(1).default("bv.fulfilment"),
        /** Where poison updates go (fanout, with a durable queue of the same name), reason in the `x-bv-reason` header. */
        dead_letter_exchange: z.string().min(1).default("bv.fulfilment.dead-letter"),
        /** Unacknowledged updates the consumer holds at once. */
        prefetch: z.number().int().min(1).max(1000).default(16),
        /** Attempts before an update that keeps failing is dead-lettered. */
        max_attempts: z.number().int().min(1).max(100).default(5),
        /** How long an update that skipped a stage waits for the missing one before it is applied anyway. */
        reorder_wait_ms: z.number().int().min(0).max(86_400_000).default(60_000),
      })
      .default({
        exchange: "bv.events",
        relay_poll_ms: 500,
        fulfilment_exchange: "bv.fulfilment",
        dead_letter_exchange: "bv.fulfilment.dead-letter",
        prefetch: 16,
        max_attempts: 5,
        reorder_wait_ms: 60_000,
      }),
    database: databaseSchema,
    telemetry: telemetrySchema,
    kafka: kafkaSchema,
    /** Edge provisioning (cloud/src/provisioning): claim codes, the installer and the edge packages it serves. */
    provisioning: z
      .strictObject({
        /** Folder with the bv-edge .deb files and install.sh (`npm run package:edge` writes edge/deploy/dist); default {data_dir}/edge-packages. */
        packages_dir: z.string().min(1).optional(),
        /** host:port edges reach the gRPC endpoint at; default: the host the claim request came to + grpc.port. */
        grpc_url: z
          .string()
          .regex(/^[^\s/:]+:\d{1,5}$/, "expected host:port")
          .optional(),
        /** How long a claim code stays valid unless the admin asks otherwise. */
        claim_ttl_minutes: z.number().int().min(1).max(10_080).default(60),
      })
      .default({ claim_ttl_minutes: 60 }),
    /** Signed agent releases (cloud/src/releases, docs/security.md "Release key"). */
    releases: z
      .strictObject({
        /** The ed25519 release key (PEM, PKCS#8, mode 0600); made at first start when missing. Default {data_dir}/release-key.pem. */
        key_file: z.string().min(1).optional(),
        /** Where published packages are kept; default {data_dir}/releases. */
        dir: z.string().min(1).optional(),
        /** How long a new agent has to reach the cloud before the edge rolls it back, unless the release says otherwise. */
        health_deadline_s: z.number().int().min(10).max(3600).default(180),
        /** Largest package accepted, in MB. */
        max_package_mb: z.number().int().min(1).max(2048).default(512),
      })
      .default({ health_deadline_s: 180, max_package_mb: 512 }),
    session_ttl_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(12),
  })
  // Runs even when a field has a type error (`when`), over the config as far as it parsed, so one
  // pass lists every problem (DESIGN.md §3 promise 9); hence the defensive reads.
  .superRefine(
    (parsed: unknown, ctx) => {
      const cfg = (parsed ?? {}) as Partial<Record<string, unknown>>;
      const list = (key: string): Record<string, unknown>[] => {
        const v = cfg[key];
        return Array.isArray(v) ? v.map((x: unknown) => (typeof x === "object" && x !== null ? (x as Record<string, unknown>) : {})) : [];
      };
      const section = (key: string): Record<string, unknown> => {
        const v = cfg[key];
        return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
      };
      const duplicates = (key: string, field: string, what: string) => {
        const seen = new Set<unknown>();
        list(key).forEach((item, i) => {
          const v = item[field];
          if (typeof v !== "string") return;
          if (seen.has(v)) ctx.addIssue({ code: "custom", path: [key, i, field], message: `duplicate ${what} ${v}` });
          seen.add(v);
        });
      };
      duplicates("sites", "id", "site id");
      duplicates("edges", "id", "edge id");
      duplicates("users", "username", "user");
      const siteIds = new Set(list("sites").map((s) => s.id));
      list("edges").forEach((e, i) => {
        if (typeof e.site_id === "string" && !siteIds.has(e.site_id))
          ctx.addIssue({ code: "custom", path: ["edges", i, "site_id"], message: `unknown site ${e.site_id}` });
      });
      list("users").forEach((u, i) => {
        if (!Array.isArray(u.sites)) return;
        u.sites.forEach((s: unknown, j: number) => {
          if (typeof s === "string" && !siteIds.has(s))
            ctx.addIssue({ code: "custom", path: ["users", i, "sites", j], message: `unknown site ${s}` });
        });
      });
      const database = section("database");
      const telemetry = section("telemetry");
      const ingest = section("ingest");
      const bus = section("bus");
      const kafka = cfg.kafka as { brokers?: unknown } | undefined;
      // Engine combinations: report every missing piece at once.
      if (database.engine === "postgres" && !database.url)
        ctx.addIssue({
          code: "custom",
          path: ["database", "url"],
          message: "required when database.engine is postgres (or set BV_DATABASE_URL)",
        });
      if (telemetry.engine === "influx" && !telemetry.influx)
        ctx.addIssue({
          code: "custom",
          path: ["telemetry", "influx"],
          message: "required when telemetry.engine is influx (url, org, bucket)",
        });
      if (ingest.via === "kafka" && !kafka)
        ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when ingest.via is kafka (brokers)" });
      if (bus.engine === "kafka" && !kafka)
        ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when bus.engine is kafka (brokers)" });
      if (ingest.store_writer === true && !kafka)
        ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when ingest.store_writer is true (brokers)" });
      const grpc = section("grpc");
      if (grpc.client_ca_file && grpc.insecure === true)
        ctx.addIssue({ code: "custom", path: ["grpc", "client_ca_file"], message: "needs TLS: grpc.insecure must be false" });
      list("edges").forEach((e, i) => {
        if (e.cert_fingerprint && !grpc.client_ca_file)
          ctx.addIssue({ code: "custom", path: ["edges", i, "cert_fingerprint"], message: "needs grpc.client_ca_file (mutual TLS)" });
      });
      if (kafka && Array.isArray(kafka.brokers) && kafka.brokers.length === 0)
        ctx.addIssue({ code: "custom", path: ["kafka", "brokers"], message: "at least one broker (host:port) is required" });
    },
    { when: () => true },
  );

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
  BV_EDGE_PACKAGES_DIR: "provisioning.packages_dir",
  BV_RELEASE_KEY_FILE: "releases.key_file",
  BV_INFLUX_TOKEN: "telemetry.influx.token",
  BV_PAYMENTS_URL: "commerce.payments_url",
  BV_CARRIER_URL: "commerce.carrier_url",
} as const;

/**
 * Loads and validates the config; throws ConfigError listing every problem. Relative paths
 * (data_dir) resolve against the config file's directory, or the working directory without one.
 */
export function loadCloudConfig(file?: string, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): CloudConfig {
  const config = loadConfig(cloudConfigSchema, { file, env, envMap: cloudEnvMap, overrides });
  const base = file ? dirname(resolve(file)) : process.cwd();
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const files = <T extends { cert_file: string; key_file: string }>(t: T | undefined) =>
    t ? { tls: { ...t, cert_file: path(t.cert_file), key_file: path(t.key_file) } } : {};
  const data_dir = path(config.data_dir);
  const packages_dir = resolve(config.provisioning.packages_dir ? base : data_dir, config.provisioning.packages_dir ?? "edge-packages");
  return {
    ...config,
    data_dir,
    http: { ...config.http, ...files(config.http.tls) },
    grpc: {
      ...config.grpc,
      ...files(config.grpc.tls),
      ...(config.grpc.client_ca_file ? { client_ca_file: path(config.grpc.client_ca_file) } : {}),
    },
    provisioning: { ...config.provisioning, packages_dir },
    releases: {
      ...config.releases,
      key_file: config.releases.key_file ? path(config.releases.key_file) : resolve(data_dir, "release-key.pem"),
      dir: config.releases.dir ? path(config.releases.dir) : resolve(data_dir, "releases"),
    },
  };
}
