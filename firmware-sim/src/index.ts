export { AckedLog, type AckedRecord } from "./acked-log.js";
export { SimDevice } from "./device.js";
export { type FleetHandle, type FleetOptions, runFleet } from "./fleet.js";
export { mulberry32, Rng } from "./prng.js";
export { edgeDevicesYaml, type PlannedDevice, type ProvisionedDevice, planFleet, provisionFleet } from "./provision.js";
export { deviceIdFor, type FleetSpec, loadScenario, type Scenario, scenarioSchema } from "./scenario.js";
export { type CommandOutcome, createModel, type DeviceModel, simulatedTypes } from "./signals/index.js";
export { type FleetStats, type LatencySummary, progressLine } from "./stats.js";
