import type { DeviceType } from "../types.js";
import { otaUpdate } from "./firmware.js";

export const coldChainTracker: DeviceType = {
  type: "cold-chain-tracker",
  name: "Cold-chain tracker",
  description: "Battery-powered tracker in a refrigerated container: GPS position, temperature, battery.",
  category: "tracker",
  metrics: [
    { name: "lat", type: "number", unit: "°", description: "Latitude (WGS84)", min: -90, max: 90 },
    { name: "lon", type: "number", unit: "°", description: "Longitude (WGS84)", min: -180, max: 180 },
    { name: "temperature", type: "number", unit: "°C", description: "Cargo temperature", min: -40, max: 60, normal: { min: 2, max: 8 } },
    { name: "battery", type: "number", unit: "%", description: "Battery charge", min: 0, max: 100, normal: { min: 15, max: 100 } },
    { name: "speed", type: "number", unit: "km/h", description: "Ground speed", min: 0, max: 200 },
  ],
  commands: [
    otaUpdate,
    {
      name: "set_interval",
      description: "Change the reporting interval",
      params: [
        { name: "interval_s", type: "integer", description: "Seconds between readings", required: true, unit: "s", min: 10, max: 86400 },
      ],
    },
    {
      name: "set_temperature_band",
      description: "Set the alarm band for the cargo temperature",
      params: [
        { name: "min", type: "number", description: "Lowest allowed", required: true, unit: "°C", min: -40, max: 60 },
        { name: "max", type: "number", description: "Highest allowed", required: true, unit: "°C", min: -40, max: 60 },
      ],
    },
  ],
  protocols: { mqtt: { telemetryIntervalMs: 30000 } },
};
