/**
 * kafkajs wiring shared by the telemetry publisher, the store-writer and the event bus: one client per role,
 * kafkajs' log routed into pino. The engine may be a real Kafka cluster or, in tests, the
 * librdkafka mock cluster (no CreateTopics, no idempotent producer: topics are auto-created).
 */
import type { Logger } from "@bitvelocity/common";
import { Kafka, logLevel } from "kafkajs";
import type { CloudConfig } from "./config.js";

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly telemetryTopic: string;
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
}

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: 3000,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      const fields = { namespace: entry.namespace, ...extra };
      if (entry.level <= logLevel.ERROR) logger.error(fields, message);
      else if (entry.level === logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    },
  });
}

/** The `kafka:` section of the cloud's config as settings, or undefined when Kafka is not configured. */
export function kafkaSettingsOf(config: CloudConfig): KafkaSettings | undefined {
  const k = config.kafka;
  if (!k) return undefined;
  return {
    brokers: k.brokers,
    clientId: k.client_id,
    telemetryTopic: k.telemetry_topic,
    groupId: k.group_id,
    sessionTimeoutMs: k.session_timeout_ms,
  };
}
