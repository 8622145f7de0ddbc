export * from "./command-service.js";
export * from "./fleet-registry.js";
