import { decodeNumber, deviceType, encodeNumber, type ModbusRegister } from "@bitvelocity/devices";
import { describe, expect, it } from "vitest";
import { commandRequests, decodeBlock, planReads, registerMapProblems } from "./codec.js";

const meter = deviceType("power-meter")!;

describe("register values", () => {
  it.each([
    ["int16", "big", [0xfff6], -10],
    ["uint16", "big", [0xfff6], 65_526],
    ["int32", "big", [0xffff, 0xfffe], -2],
    ["int32", "little", [0xfffe, 0xffff], -2],
    ["uint32", "big", [0x0001, 0x0000], 65_536],
    ["uint32", "little", [0x0000, 0x0001], 65_536],
    ["float32", "big", [0x4366, 0x199a], 230.1],
    ["float32", "little", [0x199a, 0x4366], 230.1],
  ] as const)("%s (%s word order) decodes and encodes", (dataType, wordOrder, words, value) => {
    const reg = { dataType, wordOrder } as const;
    expect(decodeNumber(reg, words)).toBeCloseTo(value, 4);
    expect(encodeNumber(reg, value)).toEqual(words);
  });

  it("applies scale and offset both ways", () => {
    const reg = { dataType: "uint16", scale: 0.01, offset: -40 } as const;
    expect(decodeNumber(reg, [6210])).toBe(22.1);
    expect(encodeNumber(reg, 22.1)).toEqual([6210]);
  });

  it("refuses a value that does not fit", () => {
    expect(() => encodeNumber({ dataType: "int16" }, 40_000)).toThrow(RangeError);
    expect(() => encodeNumber({ dataType: "uint32", scale: 0.01 }, -1)).toThrow(RangeError);
  });
});

describe("planReads", () => {
  it("covers the power meter with one input-register read and one coil read", () => {
    const blocks = planReads(meter.protocols.modbus!.registers);
    expect(blocks.map((b) => b.request)).toEqual([
      { fc: 1, address: 0, count: 1 },
      { fc: 4, address: 0, count: 10 },
    ]);
  });

  it("splits reads past 125 registers and across large gaps", () => {
    const regs: ModbusRegister[] = [
      { metric: "a", table: "holding", address: 0, dataType: "uint16" },
      { metric: "b", table: "holding", address: 124, dataType: "uint32" },
      { metric: "c", table: "holding", address: 500, dataType: "uint16" },
    ];
    expect(planReads(regs).map((b) => b.request)).toEqual([
      { fc: 3, address: 0, count: 1 },
      { fc: 3, address: 124, count: 2 },
      { fc: 3, address: 500, count: 1 },
    ]);
  });

  it("decodes a block into metric values", () => {
    const [coils, inputs] = planReads(meter.protocols.modbus!.registers);
    expect(decodeBlock(coils!, { kind: "bits", bits: [true] })).toEqual({ relay_closed: true });
    const regs = [0x4366, 0x199a, 0, 0, 0, 12_345, 0x0001, 0x86a0, 5000, 950];
    expect(decodeBlock(inputs!, { kind: "registers", registers: regs })).toMatchObject({
      voltage: 230.1,
      current: 0,
      power: 12.345,
      energy: 1000,
      frequency: 50,
      power_factor: 0.95,
    });
  });
});

describe("registerMapProblems", () => {
  it("accepts the catalog's map", () => {
    expect(registerMapProblems(meter, meter.protocols.modbus!.registers)).toEqual([]);
  });

  it("names overlaps, unknown metrics, wrong types and read-only writes", () => {
    const problems = registerMapProblems(meter, [
      { metric: "voltage", table: "input", address: 0, dataType: "float32" },
      { metric: "current", table: "input", address: 1, dataType: "uint16" },
      { metric: "pressure", table: "holding", address: 0, dataType: "uint16" },
      { metric: "relay_closed", table: "coil", address: 0, dataType: "uint16" },
      { metric: "power", table: "input", address: 9, dataType: "int16", writable: true },
    ]);
    expect(problems).toEqual([
      "registers.1: input 1 of current overlaps voltage",
      "registers.2.metric: pressure is not a metric of power-meter",
      "registers.3.data_type: coil points are bool",
      "registers.4.writable: input points are read-only",
    ]);
  });
});

describe("commandRequests", () => {
  const writes = meter.protocols.modbus!.commands!;
  it("maps set_relay to a coil write of the parameter and reset_energy to a trigger coil", () => {
    expect(commandRequests(writes, "set_relay", { closed: false })).toEqual({ requests: [{ fc: 5, address: 0, value: false }] });
    expect(commandRequests(writes, "reset_energy", {})).toEqual({ requests: [{ fc: 5, address: 1, value: true }] });
  });

  it("maps a 32-bit register write to function 16 and says why an unmapped command cannot run", () => {
    const w = [{ command: "set", table: "holding", address: 10, dataType: "float32", param: "v" }] as const;
    expect(commandRequests(w, "set", { v: 230.1 })).toEqual({ requests: [{ fc: 16, address: 10, values: [0x4366, 0x199a] }] });
    expect(commandRequests(w, "other", {})).toEqual({ problem: "command other has no Modbus write mapping" });
  });
});
