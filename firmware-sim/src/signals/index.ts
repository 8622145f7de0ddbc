/** The signal models, one per MQTT device type of the catalog; one explicit map, no folder scanning. */
import type { Rng } from "../prng.js";
import { coldChainTrackerModel } from "./cold-chain-tracker.js";
import { envSensorModel } from "./env-sensor.js";
import type { DeviceModel } from "./model.js";
import { packagingPlcModel } from "./packaging-plc.js";
import { powerMeterModel } from "./power-meter.js";
import { smartShelfModel } from "./smart-shelf.js";
import { valveActuatorModel } from "./valve-actuator.js";

export type { CommandOutcome, DeviceModel } from "./model.js";

type ModelFactory = (rng: Rng, intervalS: number) => DeviceModel;

const MODELS: ReadonlyMap<string, ModelFactory> = new Map([
  ["env-sensor", envSensorModel],
  ["smart-shelf", smartShelfModel],
  ["cold-chain-tracker", coldChainTrackerModel],
  ["valve-actuator", valveActuatorModel],
  ["power-meter", powerMeterModel],
  ["packaging-plc", packagingPlcModel],
]);

export function simulatedTypes(): string[] {
  return [...MODELS.keys()];
}

export function createModel(type: string, rng: Rng, intervalS: number): DeviceModel {
  const factory = MODELS.get(type);
  if (!factory) throw new Error(`no signal model for device type ${type}`);
  return factory(rng, intervalS);
}
