export * from "./backoff.js";
export * from "./cli.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./listen.js";
export * from "./logger.js";
export * from "./release-manifest.js";
export * from "./secrets.js";
