/** Config of the Kafka uplink; the schema is shared (common/src/edge-config/kafka.ts). */
export { type KafkaUplinkConfig, kafkaUplinkSchema } from "@bitvelocity/common/edge-config";
