export * from "./alert-engine.js";
export * from "./alert-service.js";
export * from "./alert-store.js";
export * from "./rules.js";
