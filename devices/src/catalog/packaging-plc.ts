import type { DeviceType } from "../types.js";

export const packagingPlc: DeviceType = {
  type: "packaging-plc",
  name: "Packaging-line PLC",
  description: "PLC of a packaging line exposing counters, temperatures and machine state over OPC UA.",
  category: "plc",
  metrics: [
    {
      name: "state",
      type: "enum",
      unit: "",
      description: "Machine state",
      values: ["stopped", "starting", "running", "blocked", "starved", "fault"],
    },
    { name: "good_count", type: "integer", unit: "pcs", description: "Good packages since reset", min: 0, max: 2 ** 32 - 1 },
    { name: "reject_count", type: "integer", unit: "pcs", description: "Rejected packages since reset", min: 0, max: 2 ** 32 - 1 },
    { name: "speed", type: "number", unit: "pcs/min", description: "Line speed", min: 0, max: 600, normal: { min: 60, max: 300 } },
    { name: "speed_setpoint", type: "number", unit: "pcs/min", description: "Line speed setpoint", min: 0, max: 600 },
    {
      name: "sealer_temperature",
      type: "number",
      unit: "°C",
      description: "Heat sealer temperature",
      min: 0,
      max: 300,
      normal: { min: 150, max: 190 },
    },
    { name: "motor_current", type: "number", unit: "A", description: "Main drive current", min: 0, max: 100, normal: { min: 0, max: 25 } },
  ],
  commands: [
    {
      name: "set_speed",
      description: "Write the line speed setpoint",
      params: [{ name: "speed", type: "number", description: "Target speed", required: true, unit: "pcs/min", min: 0, max: 600 }],
    },
    { name: "start", description: "Start the line", params: [] },
    { name: "stop", description: "Stop the line", params: [] },
    { name: "reset_counters", description: "Reset good and reject counters", params: [] },
  ],
  protocols: {
    mqtt: { telemetryIntervalMs: 2000 },
    opcua: {
      nodes: [
        { metric: "state", nodeId: "ns=1;s=Line.State" },
        { metric: "good_count", nodeId: "ns=1;s=Line.GoodCount" },
        { metric: "reject_count", nodeId: "ns=1;s=Line.RejectCount" },
        { metric: "speed", nodeId: "ns=1;s=Line.Speed" },
        { metric: "speed_setpoint", nodeId: "ns=1;s=Line.SpeedSetpoint", writable: true },
        { metric: "sealer_temperature", nodeId: "ns=1;s=Sealer.Temperature" },
        { metric: "motor_current", nodeId: "ns=1;s=Drive.Current" },
      ],
      commands: [
        { command: "set_speed", nodeId: "ns=1;s=Line.SpeedSetpoint", param: "speed" },
        // The PLC acts on a string written to its command node, then clears it.
        { command: "start", nodeId: "ns=1;s=Line.Command", value: "start" },
        { command: "stop", nodeId: "ns=1;s=Line.Command", value: "stop" },
        { command: "reset_counters", nodeId: "ns=1;s=Line.Command", value: "reset_counters" },
      ],
    },
  },
};
