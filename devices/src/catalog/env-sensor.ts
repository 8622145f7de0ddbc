import type { DeviceType } from "../types.js";
import { otaUpdate } from "./firmware.js";

export const envSensor: DeviceType = {
  type: "env-sensor",
  name: "Environmental sensor",
  description: "Indoor climate sensor: temperature, relative humidity and CO2 over MQTT.",
  category: "sensor",
  metrics: [
    {
      name: "temperature",
      type: "number",
      unit: "°C",
      description: "Air temperature",
      min: -40,
      max: 85,
      normal: { min: 16, max: 28 },
    },
    {
      name: "humidity",
      type: "number",
      unit: "%RH",
      description: "Relative humidity",
      min: 0,
      max: 100,
      normal: { min: 30, max: 65 },
    },
    {
      name: "co2",
      type: "integer",
      unit: "ppm",
      description: "CO2 concentration",
      min: 0,
      max: 10000,
      normal: { min: 400, max: 1200 },
    },
    {
      name: "battery",
      type: "number",
      unit: "%",
      description: "Battery charge",
      min: 0,
      max: 100,
      normal: { min: 20, max: 100 },
    },
  ],
  commands: [
    otaUpdate,
    {
      name: "set_interval",
      description: "Change the reporting interval",
      params: [
        {
          name: "interval_s",
          type: "integer",
          description: "Seconds between readings",
          required: true,
          unit: "s",
          min: 1,
          max: 3600,
        },
      ],
    },
    { name: "identify", description: "Blink the status LED for 10 seconds", params: [] },
  ],
  protocols: { mqtt: { telemetryIntervalMs: 5000 } },
};
