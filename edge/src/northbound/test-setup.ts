/** Test helper: the real link (drainer, router, gRPC uplink) against a TestCloud and a real SQLite outbox. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Logger, silentLogger } from "@bitvelocity/common";
import { pino } from "pino";
import { Registry } from "prom-client";
import { Outbox } from "../outbox/outbox.js";
import { type LinkHandle, startLink } from "./index.js";
import { type UplinkConfig, uplinkSchema } from "./schema.js";
import { TestCloud, type TestCloudOptions } from "./test-cloud.js";
import { TestGateway } from "./test-gateway.js";

export const TOKEN = "edge-token-for-tests";

export interface Rig {
  cloud: TestCloud;
  outbox: Outbox;
  gateway: TestGateway;
  registry: Registry;
  link: LinkHandle;
  config: UplinkConfig;
  append(n: number): Promise<number[]>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** A pino logger that keeps its JSON lines in `lines` (to check what is, and is not, logged). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export async function startRig(
  cloudOptions: Partial<TestCloudOptions> = {},
  config: Partial<UplinkConfig> = {},
  logger: Logger = silentLogger(),
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "bv-link-"));
  const outbox = Outbox.open({ dir, bootId: "boot-1", commitIntervalMs: 5 });
  const cloud = await TestCloud.start({ token: TOKEN, ...cloudOptions });
  const gateway = new TestGateway([
    { deviceId: "env-1", deviceType: "env-sensor", name: "Env 1", online: true, lastSeenMs: 1 },
    { deviceId: "valve-1", deviceType: "valve-actuator", name: "Valve 1", online: false, lastSeenMs: 0 },
  ]);
  const registry = new Registry();
  const fullConfig = uplinkSchema.parse({
    url: cloud.url,
    token: TOKEN,
    backoff_initial_ms: 20,
    backoff_max_ms: 200,
    keepalive_ms: 1000,
    status_interval_ms: 500,
    // The test cloud is plain text (explicit dev opt-out).
    tls: { insecure: true },
    ...config,
  });
  const link = startLink({
    config: fullConfig,
    edgeId: "edge-1",
    siteId: "site-1",
    agentVersion: "0.0.0-test",
    bootId: "boot-1",
    clockSynced: () => true,
    startedAt: performance.now(),
    clock: { now: () => Date.now(), uptimeMs: () => performance.now() },
    outbox,
    gateway,
    registry,
    logger,
  });
  let value = 0;
  const rig: Rig = {
    cloud,
    outbox,
    gateway,
    registry,
    link,
    config: fullConfig,
    append: (n) =>
      Promise.all(
        Array.from({ length: n }, () =>
          outbox.append({ deviceId: "env-1", deviceType: "env-sensor", values: { temperature: value++ % 50 } }),
        ),
      ),
    async metric(name, labels = {}) {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      const values = (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return values.reduce((sum, v) => sum + Number(v.value), 0);
    },
    async close() {
      await link.stop();
      await rig.cloud.stop();
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
