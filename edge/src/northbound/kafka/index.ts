/**
 * The Kafka uplink plug-in (DESIGN.md §6, Kafka mode): opens the gRPC control session first,
 * then a kafkajs producer; telemetry goes to Kafka. kafkajs is imported only when this uplink
 * is configured, so a gRPC-only edge never loads it.
 */
import { BvError, type Logger } from "@bitvelocity/common";
import { type BatchLimits, limitsWithin, type OpenResult, type Uplink } from "../uplink.js";
import type { KafkaUplinkConfig } from "./schema.js";
import { KafkaSession } from "./session.js";

export interface KafkaUplinkOptions {
  /** The control plane: the gRPC uplink. */
  readonly control: Uplink;
  readonly config: KafkaUplinkConfig;
  readonly edgeId: string;
  readonly limits: BatchLimits;
  readonly logger: Logger;
}

export function kafkaUplink(options: KafkaUplinkOptions): Uplink {
  const { config, logger } = options;
  return {
    kind: "kafka",
    async open(signal: AbortSignal): Promise<OpenResult> {
      const opened = await options.control.open(signal);
      if (opened.status !== "open") return opened;
      const control = opened.session;
      try {
        const { Kafka, logLevel, Partitioners } = await import("kafkajs");
        const kafka = new Kafka({
          clientId: config.client_id ?? `bv-edge-${options.edgeId}`,
          brokers: config.brokers,
          connectionTimeout: 3000,
          // The drainer and link own retries and backoff; kafkajs retries a little within one send.
          retry: { initialRetryTime: 100, retries: 2 },
          logLevel: logLevel.WARN,
          logCreator: () => (entry) => logger.warn({ namespace: entry.namespace, kafka: entry.log }, entry.log.message),
        });
        // No idempotent producer (not every Kafka-protocol broker has it): a re-sent batch is a
        // duplicate the cloud drops by (edgeId, seq).
        const producer = kafka.producer({
          allowAutoTopicCreation: true,
          idempotent: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        const onAbort = () => void producer.disconnect().catch(() => undefined);
        signal.addEventListener("abort", onAbort, { once: true });
        await producer.connect();
        signal.removeEventListener("abort", onAbort);
        const session = new KafkaSession({
          control,
          producer,
          edgeId: options.edgeId,
          topic: config.topic,
          maxInFlight: config.max_in_flight,
          requestTimeoutMs: config.request_timeout_ms,
          limits: limitsWithin(options.limits, control.limits, Math.min),
        });
        return { status: "open", session };
      } catch (err) {
        control.close();
        const error = new BvError("UPLINK_KAFKA_UNAVAILABLE", "transient", `cannot connect to Kafka (${config.brokers.join(",")})`, {
          cause: err,
        });
        return { status: "retryable", error };
      }
    },
  };
}
