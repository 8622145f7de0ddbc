// Shared by the broker benchmarks: the edge broker (built, edge/dist) with the open access
// policy, as the conformance and fuzz runs use it, and the machine line for RESULTS.md.
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(fileURLToPath(import.meta.url), "../..");
const dist = (p) => join(ROOT, "edge/dist", p);

export async function startOpenBroker(limits = {}) {
  const { MqttBroker } = await import(dist("broker/broker.js"));
  const { openPolicy } = await import(dist("broker/policy.js"));
  const { defaultBrokerLimits } = await import(dist("broker/limits.js"));
  const { silentLogger } = await import(join(ROOT, "common/dist/index.js"));
  const { Registry } = await import("prom-client");
  const registry = new Registry();
  const broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink: { append: async () => undefined, deadLetter: async () => undefined },
    registry,
    logger: silentLogger(),
    policy: openPolicy,
    limits: { ...defaultBrokerLimits, ...limits },
  });
  const ports = await broker.start();
  return { broker, registry, port: ports.mqtt };
}

export const conformance = () => import(dist("broker/conformance/index.js"));
export const fuzz = () => import(dist("broker/conformance/fuzz.js"));

export function machine() {
  return `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at start ${loadavg()[0].toFixed(1)} (machine shared with other jobs)`;
}
