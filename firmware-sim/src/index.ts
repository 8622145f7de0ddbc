export { AckedLog, type AckedRecord } from "./acked-log.js";
export { SimDevice } from "./device.js";
export { type FleetHandle, type FleetOptions, runFleet } from "./fleet.js";
export { SlaveBus, type SlaveBusFaults } from "./modbus/bus.js";
export { RtuSlaveServer } from "./modbus/rtu-server.js";
export { TcpSlaveServer } from "./modbus/tcp-server.js";
export { type LedgerEntry, type LedgerKind, type PaymentFaults, PaymentsSimulator } from "./payments/payments-server.js";
export { mulberry32, Rng } from "./prng.js";
export { edgeDevicesYaml, type PlannedDevice, type ProvisionedDevice, planFleet, provisionFleet } from "./provision.js";
export { deviceIdFor, type FleetSpec, loadScenario, type Scenario, scenarioSchema } from "./scenario.js";
export { type CommandOutcome, createModel, type DeviceModel, simulatedTypes } from "./signals/index.js";
export { type FleetStats, type LatencySummary, progressLine } from "./stats.js";
export {
  declareFulfilment,
  SHIPMENT_STAGES,
  type ShipmentStage,
  type WarehouseFaults,
  type WarehouseOptions,
  WarehouseSimulator,
} from "./warehouse/warehouse-sim.js";
