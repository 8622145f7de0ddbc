export { type BrokerOptions, type BrokerPorts, MqttBroker } from "./broker/index.js";
export type { DeviceGateway, DeviceInfo, PresenceChange } from "./commands/device-gateway.js";
export { type DeviceConfig, deviceConfigSchema, type EdgeConfig, edgeConfigSchema, edgeEnvMap, loadEdgeConfig } from "./config.js";
export { type EdgeHandle, type StartOptions, startEdge } from "./main.js";
export { Outbox, type OutboxClock, type OutboxOptions } from "./outbox/index.js";
export type * from "./outbox/types.js";
export type { ReadingSink } from "./pipeline/sink.js";
