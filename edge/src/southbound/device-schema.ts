/** What every connector's device entry has; the schema is shared (common/src/edge-config/connector-device.ts). */
export { connectorDeviceFields, connectorIdSchema, uniqueDeviceIds } from "@bitvelocity/common/edge-config";
