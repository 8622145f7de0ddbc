/** The alerts module: rules evaluated on readings, presence, edge status and gaps; alerts and their life cycle. */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { AlertEngine, type AlertsDirectory } from "./alert-engine.js";
import { AlertService } from "./alert-service.js";
import { AlertStore } from "./alert-store.js";
import { alertsMigrations } from "./migrations.js";

export interface AlertsModule extends CloudModule {
  readonly service: AlertService;
}

/** `directory`: the port through which rules learn device and edge names (filled with fleet's registry). */
export function alertsModule(ports: { directory: () => AlertsDirectory }): AlertsModule {
  let parts: { engine: AlertEngine; service: AlertService } | undefined;
  return {
    name: "alerts",
    migrations: alertsMigrations,
    publishes: ["alertUpdated"],
    consumes: ["readingsCommitted", "deviceUpdated", "edgeStatusReceived", "gapRecorded"],
    async start(ctx: ModuleContext) {
      const store = new AlertStore(ctx.db);
      const engine = new AlertEngine(store, ctx.bus, ports.directory(), ctx.logger, ctx.registry);
      await engine.start();
      parts = { engine, service: new AlertService(store, engine) };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      await p?.engine.stop();
    },
    get service() {
      return started(parts, "alerts", "the alert service").service;
    },
  };
}
