/**
 * The telemetry module: the store readings are committed to — SQLite with rollups by default,
 * InfluxDB line protocol (InfluxDB 2 / VictoriaMetrics) at scale. Its data lives outside cloud.db,
 * so it has no migrations there.
 */
import type { CloudConfig } from "../platform/config.js";
import type { Logger } from "../platform/logger.js";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { InfluxTelemetryStore } from "./influx-store.js";
import { SqliteTelemetryStore } from "./sqlite-store.js";
import type { TelemetryStore } from "./telemetry-store.js";

export interface TelemetryModule extends CloudModule {
  readonly store: TelemetryStore;
}

export function telemetryModule(): TelemetryModule {
  let store: TelemetryStore | undefined;
  return {
    name: "telemetry",
    migrations: {},
    publishes: [],
    consumes: [],
    async start(ctx: ModuleContext) {
      store = openTelemetry(ctx.config, ctx.logger);
    },
    async stop() {
      const s = store;
      store = undefined;
      await s?.close();
    },
    get store() {
      return started(store, "telemetry", "the store");
    },
  };
}

function openTelemetry(config: CloudConfig, logger: Logger): TelemetryStore {
  const influx = config.telemetry.influx;
  if (config.telemetry.engine === "influx" && influx) {
    return new InfluxTelemetryStore({
      url: influx.url,
      queryUrl: influx.query_url,
      token: influx.token,
      org: influx.org,
      bucket: influx.bucket,
      maxRetries: influx.max_retries,
      maxPending: influx.max_pending,
      forceFlush: influx.force_flush,
      gzip: influx.gzip,
      logger,
    });
  }
  return SqliteTelemetryStore.open(config.data_dir);
}
