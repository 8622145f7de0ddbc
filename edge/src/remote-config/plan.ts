/**
 * What a new configuration needs: hot (the running agent takes it) or a controlled restart. Hot
 * are the MQTT devices with their report strategies, the report strategies of connector devices,
 * and the broker's connection and message rates; everything else (listeners, the outbox, the
 * uplink, connectors themselves) is built once at start and needs a restart.
 */
import { isDeepStrictEqual } from "node:util";
import type { EdgeConfig } from "../config.js";

/** Broker limits the gate retunes live (broker/gate.ts HotBrokerLimits). */
export const HOT_LIMITS = ["max_connections", "connect_rate_per_s", "connect_burst", "message_rate_per_s", "message_burst"] as const;

export interface ApplyPlan {
  /** Top-level paths that changed and need a restart; empty: everything is applied hot. */
  readonly restartFor: readonly string[];
  /** Something changed at all (a version identical to the running one applies as a no-op). */
  readonly changed: boolean;
}

function withoutHotLimits(limits: EdgeConfig["mqtt"]["limits"]): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...limits };
  for (const key of HOT_LIMITS) delete rest[key];
  return rest;
}

/** Connectors with every device's report strategy left out (those are applied hot). */
function connectorsWithoutReports(connectors: EdgeConfig["connectors"]): unknown {
  return connectors.map((k) => ({ ...k, devices: k.devices.map((d: { report?: unknown }) => ({ ...d, report: undefined })) }));
}

export function planApply(current: EdgeConfig, next: EdgeConfig): ApplyPlan {
  const restartFor: string[] = [];
  const keys = new Set([...Object.keys(current), ...Object.keys(next)] as (keyof EdgeConfig)[]);
  for (const key of keys) {
    const a = current[key];
    const b = next[key];
    if (isDeepStrictEqual(a, b)) continue;
    if (key === "devices" || key === "remote_config") continue;
    if (key === "mqtt") {
      const { limits: la, ...ra } = current.mqtt;
      const { limits: lb, ...rb } = next.mqtt;
      if (!isDeepStrictEqual(ra, rb) || !isDeepStrictEqual(withoutHotLimits(la), withoutHotLimits(lb))) restartFor.push("mqtt");
      continue;
    }
    if (key === "connectors" && isDeepStrictEqual(connectorsWithoutReports(current.connectors), connectorsWithoutReports(next.connectors)))
      continue;
    restartFor.push(key);
  }
  return { restartFor, changed: !isDeepStrictEqual(current, next) };
}
