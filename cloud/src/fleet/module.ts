/** The fleet module: sites, edges and devices as the cloud knows them, and commands to devices. */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { CommandService } from "./command-service.js";
import { FleetRegistry } from "./fleet-registry.js";
import { fleetMigrations } from "./migrations.js";

export interface FleetModule extends CloudModule {
  readonly registry: FleetRegistry;
  readonly commands: CommandService;
}

export function fleetModule(): FleetModule {
  let parts: { registry: FleetRegistry; commands: CommandService } | undefined;
  const get = () => started(parts, "fleet", "registry, commands");
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
      parts = { registry, commands };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      p?.commands.stop();
      await p?.registry.stop();
    },
    get registry() {
      return get().registry;
    },
    get commands() {
      return get().commands;
    },
  };
}
