export * from "./api-tokens.js";
export * from "./audit-log.js";
export * from "./rate-limiter.js";
export * from "./roles.js";
export * from "./sessions.js";
export * from "./users.js";
