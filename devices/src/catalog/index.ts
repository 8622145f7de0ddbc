import type { DeviceType } from "../types.js";
import { coldChainTracker } from "./cold-chain-tracker.js";
import { envSensor } from "./env-sensor.js";
import { packagingPlc } from "./packaging-plc.js";
import { powerMeter } from "./power-meter.js";
import { smartShelf } from "./smart-shelf.js";
import { valveActuator } from "./valve-actuator.js";

/** Every device type the system knows, by `type`. One explicit list: no folder scanning. */
export const catalog: ReadonlyMap<string, DeviceType> = new Map(
  [envSensor, powerMeter, packagingPlc, smartShelf, coldChainTracker, valveActuator].map((t) => [t.type, t]),
);

export function deviceType(type: string): DeviceType | undefined {
  return catalog.get(type);
}

export function deviceTypeNames(): string[] {
  return [...catalog.keys()];
}
