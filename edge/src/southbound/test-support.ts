/** Test helpers for connectors: a sink that records, waiting for a condition, tools the machine may lack. */
import { spawnSync } from "node:child_process";
import type { MetricValues } from "@bitvelocity/devices";
import type { ConnectorSink } from "./connector.js";

export interface Recorded {
  readonly deviceId: string;
  readonly values: MetricValues;
  readonly atMs: number;
  readonly deviceTimeMs: number | undefined;
}

export class RecordingSink implements ConnectorSink {
  readonly readings: Recorded[] = [];
  readonly presenceLog: { deviceId: string; online: boolean; reason: string }[] = [];

  async values(deviceId: string, values: MetricValues, deviceTimeMs?: number): Promise<void> {
    this.readings.push({ deviceId, values, atMs: Date.now(), deviceTimeMs });
  }

  presence(deviceId: string, online: boolean, reason: string): void {
    this.presenceLog.push({ deviceId, online, reason });
  }

  count(deviceId?: string, sinceMs = 0): number {
    return this.readings.filter((r) => (deviceId === undefined || r.deviceId === deviceId) && r.atMs >= sinceMs).length;
  }

  latest(deviceId: string, metric: string): unknown {
    for (let i = this.readings.length - 1; i >= 0; i--) {
      const r = this.readings[i];
      if (r?.deviceId === deviceId && metric in r.values) return r.values[metric];
    }
    return undefined;
  }
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000, stepMs = 20): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - start;
}

/**
 * Whether an external tool is installed. On CI (BV_REQUIRE_SERVICES=1) a missing tool fails the
 * run; elsewhere the caller skips with the reason.
 */
export function hasTool(command: string, args: string[] = ["-V"]): boolean {
  const ok = spawnSync(command, args, { stdio: "ignore" }).error === undefined;
  if (!ok && process.env.BV_REQUIRE_SERVICES === "1") throw new Error(`required tool missing: ${command}`);
  return ok;
}
