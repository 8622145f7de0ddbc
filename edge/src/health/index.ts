export { type HealthBody, type HealthChecks, type HealthOptions, HealthServer, healthBody } from "./server.js";
