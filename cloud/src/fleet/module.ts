/** The fleet module: sites, edges and devices as the cloud knows them, and commands to devices. */
import { fleetRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { parseQuery, reply } from "../platform/validate.js";
import { CommandService } from "./command-service.js";
import { configRoutes } from "./config-routes.js";
import { DeviceOwners } from "./device-owners.js";
import { EdgeConfigs } from "./edge-configs.js";
import { FleetRegistry } from "./fleet-registry.js";
import { fleetMigrations } from "./migrations.js";
import { moveRoutes } from "./move-routes.js";
import { DeviceProvisioning } from "./provisioning.js";

export interface FleetModule extends CloudModule {
  readonly registry: FleetRegistry;
  readonly commands: CommandService;
  readonly provisioning: DeviceProvisioning;
  /** Which edge each device belongs to (ingest's ownership port). */
  readonly owners: DeviceOwners;
  /** Remote configuration versions of edges. */
  readonly configs: EdgeConfigs;
}

interface FleetParts {
  registry: FleetRegistry;
  commands: CommandService;
  provisioning: DeviceProvisioning;
  owners: DeviceOwners;
  configs: EdgeConfigs;
  audit: ModuleContext["audit"];
  off: (() => void)[];
}

export function fleetModule(): FleetModule {
  let parts: FleetParts | undefined;
  const get = () => started(parts, "fleet", "registry, commands, provisioning, owners");
  return {
    name: "fleet",
    migrations: fleetMigrations,
    publishes: ["deviceUpdated", "edgeUpdated", "commandRequested", "commandUpdated", "devicesProvisioned", "edgeConfigRequested"],
    consumes: [
      "edgeConnected",
      "edgeDisconnected",
      "edgeStatusReceived",
      "devicePresenceChanged",
      "readingsCommitted",
      "commandResultReceived",
      "devicesPurchased",
      "provisionedDevicesRevoked",
      "edgeConfigReported",
    ],
    async start(ctx: ModuleContext) {
      const { config } = ctx;
      const edges = config.edges.map((e) => ({ id: e.id, siteId: e.site_id, name: e.name ?? e.id }));
      const registry = new FleetRegistry(ctx.db, ctx.bus, config.sites, edges, ctx.logger);
      await registry.start();
      const commands = new CommandService(ctx.db, ctx.bus, registry, ctx.logger.child({ part: "commands" }), ctx.relay);
      commands.start();
      // Purchased devices (commerce): identities with claim codes, awaiting their first connection.
      const provisioning = new DeviceProvisioning(ctx.db, ctx.relay, ctx.logger.child({ part: "provisioning" }));
      const off = [
        ctx.bus.on("devicesPurchased", (e) => provisioning.onPurchased(e)),
        ctx.bus.on("provisionedDevicesRevoked", (e) => provisioning.onRevoked(e)),
      ];
      const configs = new EdgeConfigs(ctx.db, ctx.bus, ctx.audit, ctx.logger.child({ part: "edge-configs" }));
      configs.start();
      parts = { registry, commands, provisioning, owners: new DeviceOwners(ctx.db), configs, audit: ctx.audit, off };
    },
    async stop() {
      const p = parts;
      parts = undefined;
      for (const off of p?.off ?? []) off();
      p?.commands.stop();
      p?.configs.stop();
      await p?.registry.stop();
    },
    routes() {
      const router = Router();
      router.get(contract.provisioned.path.replace(/^\/api/, ""), async (req, res) => {
        const { siteId } = parseQuery(contract.provisioned.query, req);
        reply(res, contract.provisioned, { devices: await get().provisioning.list(siteId) });
      });
      router.use(moveRoutes(get));
      router.use(configRoutes(get));
      return router;
    },
    get provisioning() {
      return get().provisioning;
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
    get configs() {
      return get().configs;
    },
  };
}
