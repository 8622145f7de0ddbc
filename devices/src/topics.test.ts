import { describe, expect, it } from "vitest";
import { isFilterWithinDevice, isValidDeviceId, parseTopic, topicFor } from "./topics.js";

describe("topic scheme", () => {
  it("round-trips every topic kind", () => {
    for (const kind of ["telemetry", "command", "command-result", "status"] as const) {
      expect(parseTopic(topicFor("env-0001", kind))).toEqual({ deviceId: "env-0001", kind });
    }
  });

  it("rejects foreign, wildcard and malformed topics", () => {
    expect(parseTopic("bv/env-0001/other")).toBeUndefined();
    expect(parseTopic("bv/+/telemetry")).toBeUndefined();
    expect(parseTopic("x/env-0001/telemetry")).toBeUndefined();
    expect(parseTopic("bv//telemetry")).toBeUndefined();
    expect(isValidDeviceId("a/b")).toBe(false);
    expect(isValidDeviceId("#")).toBe(false);
    expect(isValidDeviceId("x".repeat(65))).toBe(false);
  });

  it("keeps subscriptions inside the device's own tree", () => {
    expect(isFilterWithinDevice("bv/env-0001/cmd", "env-0001")).toBe(true);
    expect(isFilterWithinDevice("bv/env-0001/#", "env-0001")).toBe(true);
    expect(isFilterWithinDevice("bv/+/cmd", "env-0001")).toBe(false);
    expect(isFilterWithinDevice("#", "env-0001")).toBe(false);
    expect(isFilterWithinDevice("bv/env-0002/cmd", "env-0001")).toBe(false);
  });
});
