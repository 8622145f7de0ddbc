/** One prom-client Registry per cloud instance (tests run several in one process). */
import { collectDefaultMetrics, Registry } from "prom-client";

export function createRegistry(options: { defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: "bv_cloud_" });
  return registry;
}

export type { Registry } from "prom-client";
