import type { DeviceType } from "../types.js";

export const powerMeter: DeviceType = {
  type: "power-meter",
  name: "Smart power meter",
  description: "Three-phase energy meter read over Modbus RTU (RS-485) or Modbus TCP.",
  category: "meter",
  metrics: [
    { name: "voltage", type: "number", unit: "V", description: "Line voltage L1-N", min: 0, max: 500, normal: { min: 207, max: 253 } },
    { name: "current", type: "number", unit: "A", description: "Current L1", min: 0, max: 200, normal: { min: 0, max: 63 } },
    { name: "power", type: "number", unit: "kW", description: "Active power", min: -1000, max: 1000, normal: { min: 0, max: 40 } },
    { name: "energy", type: "number", unit: "kWh", description: "Imported active energy (counter)", min: 0, max: 4294967 },
    { name: "frequency", type: "number", unit: "Hz", description: "Grid frequency", min: 40, max: 70, normal: { min: 49.8, max: 50.2 } },
    { name: "power_factor", type: "number", unit: "", description: "Power factor", min: -1, max: 1, normal: { min: 0.85, max: 1 } },
    { name: "relay_closed", type: "boolean", unit: "", description: "Load relay state" },
  ],
  commands: [
    {
      name: "set_relay",
      description: "Open or close the load relay",
      params: [{ name: "closed", type: "boolean", description: "true closes the relay", required: true }],
    },
    { name: "reset_energy", description: "Reset the energy counter", params: [] },
  ],
  protocols: {
    mqtt: { telemetryIntervalMs: 5000 },
    modbus: {
      registers: [
        { metric: "voltage", table: "input", address: 0, dataType: "float32", wordOrder: "big" },
        { metric: "current", table: "input", address: 2, dataType: "float32", wordOrder: "big" },
        { metric: "power", table: "input", address: 4, dataType: "int32", wordOrder: "big", scale: 0.001 },
        { metric: "energy", table: "input", address: 6, dataType: "uint32", wordOrder: "big", scale: 0.01 },
        { metric: "frequency", table: "input", address: 8, dataType: "uint16", scale: 0.01 },
        { metric: "power_factor", table: "input", address: 9, dataType: "int16", scale: 0.001 },
        { metric: "relay_closed", table: "coil", address: 0, dataType: "bool", writable: true },
      ],
      commands: [
        { command: "set_relay", table: "coil", address: 0, dataType: "bool", param: "closed" },
        // Writing 1 to the reset coil zeroes the energy counter; the coil reads back 0.
        { command: "reset_energy", table: "coil", address: 1, dataType: "bool", value: true },
      ],
    },
  },
};
