export * from "./command-service.js";
export * from "./device-owners.js";
export * from "./fleet-registry.js";
