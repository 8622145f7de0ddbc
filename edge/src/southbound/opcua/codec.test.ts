import { deviceType, type MetricValues } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { ChangeBatcher, commandWrites, toMetricValue } from "./codec.js";

const plc = deviceType("packaging-plc")!;
const def = (name: string) => plc.metrics.find((m) => m.name === name)!;

describe("toMetricValue", () => {
  it.each([
    ["speed", 120.5, 120.5],
    ["good_count", [0, 7], 7],
    ["good_count", [1, 0], 2 ** 32],
    ["state", "running", "running"],
    ["state", 2, "running"],
    ["state", { text: "fault", locale: "en" }, "fault"],
    ["speed", Number.NaN, undefined],
    ["speed", "fast", undefined],
    ["state", 99, undefined],
  ] as const)("%s: %j → %j", (metric, raw, expected) => {
    expect(toMetricValue(def(metric), raw)).toBe(expected);
  });
});

describe("commandWrites", () => {
  const writes = plc.protocols.opcua!.commands!;
  it("maps a setpoint parameter and a fixed command value", () => {
    expect(commandWrites(writes, "set_speed", { speed: 200 })).toEqual({ writes: [{ nodeId: "ns=1;s=Line.SpeedSetpoint", value: 200 }] });
    expect(commandWrites(writes, "stop", {})).toEqual({ writes: [{ nodeId: "ns=1;s=Line.Command", value: "stop" }] });
    expect(commandWrites(writes, "dance", {})).toEqual({ problem: "command dance has no OPC UA write mapping" });
  });
});

describe("ChangeBatcher", () => {
  it("joins changes of one publish cycle per device, and never merges two changes of one point", async () => {
    const out: [string, MetricValues, number | undefined][] = [];
    const batcher = new ChangeBatcher((id, values, t) => out.push([id, values, t]));
    batcher.add("a", "speed", 1, 1000);
    batcher.add("a", "state", "running", 1200);
    batcher.add("b", "speed", 5);
    batcher.add("a", "speed", 2, 1300); // second change of a.speed: the first batch goes out first
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual([
      ["a", { speed: 1, state: "running" }, 1200],
      ["b", { speed: 5 }, undefined],
      ["a", { speed: 2 }, 1300],
    ]);
  });
});
