/** Config of the OPC UA connector; the schema is shared (common/src/edge-config/opcua.ts). */
export {
  type MonitoredPoint,
  nodesOf,
  type OpcuaConfig,
  type OpcuaDeviceConfig,
  opcuaSchema,
} from "@bitvelocity/common/edge-config";
