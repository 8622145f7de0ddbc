export * from "./catalog/index.js";
export * from "./modbus-frame.js";
export * from "./modbus-values.js";
export * from "./payload.js";
export * from "./topics.js";
export * from "./types.js";
export * from "./values.js";
