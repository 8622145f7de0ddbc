/**
 * pino, JSON to stdout; one child logger per component, named by namespace
 * (`edge:broker`). `info` is for lifecycle; per-message facts are metrics.
 */
import { type Logger, pino } from "pino";

export type { Logger } from "pino";

export function createLogger(name: string, level = process.env.BV_LOG_LEVEL ?? "info"): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: { paths: ["password", "token", "*.password", "*.token", "secret", "*.secret"], censor: "[redacted]" },
  });
}

/** A logger that writes nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
