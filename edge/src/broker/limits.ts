/** The broker's limits and TLS listener config; the schema is shared (common/src/edge-config). */
export {
  type BrokerLimitsConfig,
  type BrokerTlsConfig,
  brokerLimitsSchema,
  brokerTlsSchema,
  defaultBrokerLimits,
} from "@bitvelocity/common/edge-config";
