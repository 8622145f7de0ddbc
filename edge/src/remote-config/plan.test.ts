import { hashSecret, mergeConfig } from "@bitvelocity/common";
import { describe, expect, it } from "vitest";
import { edgeConfigSchema } from "../config.js";
import { planApply } from "./plan.js";

const raw = {
  edge_id: "edge-1",
  uplink: { token: "t" },
  devices: [{ id: "d1", type: "env-sensor", secret_hash: hashSecret("s") }],
  connectors: [{ type: "modbus-tcp", id: "bus", host: "plc", devices: [{ id: "m1", type: "power-meter", unit_id: 1 }] }],
};
const config = (over: Record<string, unknown> = {}) => edgeConfigSchema.parse(mergeConfig(raw, over));
const base = config();
const needs = (over: Record<string, unknown>) => planApply(base, config(over)).restartFor;

describe("what a new configuration needs", () => {
  it("applies devices, report strategies, connection and message rates and the rollback settings hot", () => {
    const next = config({
      devices: [{ id: "d2", type: "env-sensor", secret_hash: hashSecret("x"), report: { strategy: "on_change" } }],
      mqtt: { limits: { max_connections: 5, message_rate_per_s: 1, connect_burst: 3 } },
      connectors: [
        {
          type: "modbus-tcp",
          id: "bus",
          host: "plc",
          devices: [{ id: "m1", type: "power-meter", unit_id: 1, report: { strategy: "on_change" } }],
        },
      ],
      remote_config: { rollback_after_s: 30 },
    });
    expect(planApply(base, next)).toEqual({ restartFor: [], changed: true });
    expect(planApply(base, config())).toEqual({ restartFor: [], changed: false });
  });

  it("restarts for what is built once at start", () => {
    expect(needs({ mqtt: { limits: { max_packet_size: 1024 } } })).toEqual(["mqtt"]);
    expect(needs({ mqtt: { port: 1884 } })).toEqual(["mqtt"]);
    expect(needs({ outbox: { budget_mb: 64 } })).toEqual(["outbox"]);
    expect(needs({ uplink: { url: "cloud:50051" } })).toEqual(["uplink"]);
    expect(
      needs({
        connectors: [
          { type: "modbus-tcp", id: "bus", host: "plc", poll_interval_ms: 5000, devices: [{ id: "m1", type: "power-meter", unit_id: 1 }] },
        ],
      }),
    ).toEqual(["connectors"]);
  });
});
