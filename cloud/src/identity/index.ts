export * from "./rate-limiter.js";
export * from "./roles.js";
export * from "./sessions.js";
export * from "./users.js";
