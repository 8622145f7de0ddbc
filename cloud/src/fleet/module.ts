/** The fleet module: sites, edges and devices as the cloud knows them, and commands to devices. */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { CommandService } from "./command-service.js";
import { DeviceOwners } from "./device-owners.js";
import { FleetRegistry } from "./fleet-registry.js";
import { fleetMigrations } from "./migrations.js";
import { moveRoutes } from "./move-routes.js";

export interface FleetModule extends CloudModule {
  readonly registry: FleetRegistry;
  readonly commands: CommandService;
  /** Which edge each device belongs to (ingest's ownership port). */
  readonly owners: DeviceOwners;
}

export function fleetModule(): FleetModule {
  let parts: { registry: FleetRegistry; commands: CommandService; owners: DeviceOwners; audit: ModuleContext["audit"] } | undefined;
  const get = () => started(parts, "fleet", "registry, commands, owners");
  return {
    name: "fleet",
    migrations: fleetMigrations,
    publishes: ["deviceUpdated", "edgeUpdated", "commandRequested", "commandUpdated"],
    consumes: [
      "edgeConnected",
      "edgeDisconnected",
      "edgeStatusReceived",
      "devicePresenceChanged",
      "readingsCommitted",
      "commandResultReceived",
    ],
    async start(ctx: ModuleContext) {
      const { config } = ctx;
      const edges = config.edges.map((e) => ({ id: e.id, siteId: e.site_id, name: e.name ?? e.id }));
      const registry = new FleetRegistry(ctx.db, ctx.bus, config.sites, edges, ctx.logger);
      await registry.start();
      const commands = new CommandService(ctx.db, ctx.bus, registry, ctx.logger.child({ part: "commands" }), ctx.relay);
      commands.start();
      parts = { registry, commands, owners: new DeviceOwners(ctx.db), audit: ctx.audit };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      p?.commands.stop();
      await p?.registry.stop();
    },
    routes() {
      return moveRoutes(get);
    },
    get registry() {
      return get().registry;
    },
    get commands() {
      return get().commands;
    },
    get owners() {
      return get().owners;
    },
  };
}
