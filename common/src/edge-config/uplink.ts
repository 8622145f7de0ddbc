/** Config of the edge's link to the cloud (`uplink:` in the edge YAML). */
import { z } from "zod";
import { kafkaUplinkSchema } from "./kafka.js";

export const uplinkSchema = z
  .object({
    /** grpc: everything on the EdgeSync stream; kafka: telemetry to Kafka, control plane still on gRPC. */
    kind: z.enum(["grpc", "kafka"]).default("grpc"),
    kafka: kafkaUplinkSchema.optional(),
    /** host:port of the cloud's EdgeSync gRPC server (the control plane in both kinds). */
    url: z.string().min(1).default("127.0.0.1:50051"),
    /** The edge's token (a secret: give it through BV_EDGE_TOKEN, never log it). */
    token: z.string().min(1, "the edge token is required (set BV_EDGE_TOKEN or uplink.token)"),
    /** EdgeSync is TLS (grpc/tls.ts); plain text only with insecure: true. */
    tls: z
      .object({
        /** The CA the cloud's certificate chains to (its development CA: <cloud data_dir>/tls/ca.pem); default: system CAs. */
        ca_file: z.string().min(1).optional(),
        /** Pin: the SHA-256 fingerprint the cloud's certificate must have (AA:BB:…), checked after the chain. */
        fingerprint: z
          .string()
          .regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, "expected a SHA-256 fingerprint (AA:BB:…, 32 bytes)")
          .optional(),
        /** The edge's client certificate and key (mutual TLS, when the cloud asks for one). */
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
        /** The name the certificate must carry when uplink.url uses another (an IP, a tunnel). */
        server_name: z.string().min(1).optional(),
        /** Plain-text EdgeSync (tests, dev): the token crosses the network in clear. Logged as a warning. */
        insecure: z.boolean().default(false),
      })
      .strict()
      .refine((t) => Boolean(t.cert_file) === Boolean(t.key_file), { message: "cert_file and key_file go together", path: ["cert_file"] })
      .prefault({}),
    max_batch_readings: z.number().int().min(1).max(10_000).default(500),
    max_batch_bytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    /**
     * Bounds of a backlog batch (readings kept through an outage, sent after the link returns),
     * tightened by the cloud's limits. Larger than a live batch: a drain commits fewer, bigger
     * transactions in the cloud (bench/RESULTS.md, "Backlog drain"). Under Kafka's default 1 MB message.
     */
    backlog_batch_readings: z.number().int().min(1).max(10_000).default(3000),
    backlog_batch_bytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(768 * 1024),
    backoff_initial_ms: z.number().int().min(10).default(500),
    backoff_max_ms: z.number().int().min(100).default(30_000),
    /** gRPC keepalive ping interval; a half-open link is detected within about twice this. */
    keepalive_ms: z.number().int().min(1000).default(10_000),
    status_interval_ms: z.number().int().min(500).default(5_000),
    /** Share of the cloud's credit window the backlog may use while live readings wait (live first). */
    replay_share: z.number().min(0.05).max(1).default(0.5),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.kind === "kafka" && !cfg.kafka) {
      ctx.addIssue({ code: "custom", path: ["kafka"], message: "required when uplink.kind is kafka (brokers, topic)" });
    }
  });

export type UplinkConfig = z.output<typeof uplinkSchema>;
