/** @bitvelocity/cloud: start the cloud in-process, load its config, reuse its telemetry store. */
export { type CloudHandle, type CloudOptions, startCloud } from "./main.js";
export { type CloudConfig, cloudConfigSchema, cloudEnvMap, loadCloudConfig, type Role } from "./platform/config.js";
export type * from "./platform/events.js";
export { SqliteTelemetryStore } from "./telemetry/sqlite-store.js";
export type {
  CommitResult,
  LatestValues,
  NewReading,
  Resolution,
  SeriesPoint,
  StoredReading,
  TelemetryStore,
  TimeRange,
} from "./telemetry/telemetry-store.js";
