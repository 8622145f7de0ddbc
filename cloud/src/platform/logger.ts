/** Component loggers: one child per component, named by namespace (`cloud:ingest`). */
import { createLogger, type Logger } from "@bitvelocity/common";

export type { Logger } from "@bitvelocity/common";

export function rootLogger(logger?: Logger): Logger {
  return logger ?? createLogger("bv-cloud");
}

export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component: `cloud:${component}` });
}
