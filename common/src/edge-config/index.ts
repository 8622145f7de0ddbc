/**
 * The edge agent's configuration schema, in one place for the two programs that read it: the edge
 * (its YAML file, and remote versions it receives) and the cloud (remote versions an admin writes).
 */
export * from "./broker-limits.js";
export * from "./connector-device.js";
export * from "./connectors.js";
export * from "./document.js";
export * from "./edge.js";
export * from "./kafka.js";
export * from "./masking.js";
export * from "./modbus.js";
export * from "./opcua.js";
export * from "./remote.js";
export * from "./report.js";
export * from "./uplink.js";
