import type { DeviceType } from "../types.js";
import { otaUpdate } from "./firmware.js";

export const valveActuator: DeviceType = {
  type: "valve-actuator",
  name: "Valve / relay actuator",
  description: "Motorised valve with a relay output; opens, closes and positions on command.",
  category: "actuator",
  metrics: [
    { name: "position", type: "number", unit: "%", description: "Valve opening", min: 0, max: 100 },
    { name: "relay", type: "boolean", unit: "", description: "Relay output energised" },
    { name: "state", type: "enum", unit: "", description: "Actuator state", values: ["open", "closed", "moving", "fault"] },
    { name: "flow", type: "number", unit: "l/min", description: "Measured flow", min: 0, max: 1000 },
  ],
  commands: [
    otaUpdate,
    { name: "open", description: "Open fully", params: [] },
    { name: "close", description: "Close fully", params: [] },
    {
      name: "set_position",
      description: "Move to a position",
      params: [{ name: "position", type: "number", description: "Target opening", required: true, unit: "%", min: 0, max: 100 }],
    },
    {
      name: "set_relay",
      description: "Switch the relay output",
      params: [{ name: "on", type: "boolean", description: "true energises the relay", required: true }],
    },
  ],
  protocols: { mqtt: { telemetryIntervalMs: 5000 } },
};
