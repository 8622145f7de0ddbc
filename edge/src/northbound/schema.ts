/** Config of the edge's link to the cloud (`uplink:` in the edge YAML). */
import { z } from "zod";

export const uplinkSchema = z
  .object({
    kind: z.literal("grpc").default("grpc"),
    /** host:port of the cloud's EdgeSync gRPC server. */
    url: z.string().min(1).default("127.0.0.1:50051"),
    /** The edge's token (a secret: give it through BV_EDGE_TOKEN, never log it). */
    token: z.string().min(1, "the edge token is required (set BV_EDGE_TOKEN or uplink.token)"),
    max_batch_readings: z.number().int().min(1).max(10_000).default(500),
    max_batch_bytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    backoff_initial_ms: z.number().int().min(10).default(500),
    backoff_max_ms: z.number().int().min(100).default(30_000),
    /** gRPC keepalive ping interval; a half-open link is detected within about twice this. */
    keepalive_ms: z.number().int().min(1000).default(10_000),
    status_interval_ms: z.number().int().min(500).default(5_000),
    /** Share of the cloud's credit window the backlog may use while live readings wait (live first). */
    replay_share: z.number().min(0.05).max(1).default(0.5),
  })
  .strict();

export type UplinkConfig = z.output<typeof uplinkSchema>;
