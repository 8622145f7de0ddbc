/** Config of the Kafka uplink (`uplink.kafka:` in the edge YAML, used when uplink.kind is kafka). */
import { z } from "zod";

export const kafkaUplinkSchema = z
  .object({
    /** Bootstrap brokers, host:port (a comma-separated string from BV_KAFKA_BROKERS works too). */
    brokers: z.preprocess(
      (v) =>
        typeof v === "string"
          ? v
              .split(",")
              .map((b) => b.trim())
              .filter((b) => b !== "")
          : v,
      z.array(z.string().regex(/^[^\s:]+:\d+$/, "expected host:port")).min(1, "at least one broker is required"),
    ),
    topic: z.string().min(1).default("bv.telemetry"),
    client_id: z.string().min(1).optional(),
    /** Batches awaiting Kafka's ack at once (the window the cloud's credits give on gRPC). */
    max_in_flight: z.number().int().min(1).max(64).default(4),
    /** How long one produce may wait for acks=all before it counts as failed (retried later). */
    request_timeout_ms: z.number().int().min(1000).max(120_000).default(10_000),
  })
  .strict();

export type KafkaUplinkConfig = z.output<typeof kafkaUplinkSchema>;
