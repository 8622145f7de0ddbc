/**
 * The releases module: signed agent releases, their staged rollout and each edge's update state
 * (edge/deploy/README.md "Updates"). It holds the ed25519 release key (docs/security.md). It comes
 * before ingest in main.ts's list, so it hears every edgeConnected; it reaches ingest only through
 * its port (edge credentials for downloads) and the releaseOffered event ingest forwards to the edge.
 */
import { join } from "node:path";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { releasesMigrations } from "./migrations.js";
import type { ReleasesPorts } from "./ports.js";
import { loadReleaseKey } from "./release-key.js";
import { ReleaseService } from "./release-service.js";
import { adminRoutes, publicRoutes, type ReleasesWeb } from "./routes.js";

export interface ReleasesModule extends CloudModule {
  readonly service: ReleaseService;
  /** PEM of the release public key (what a claim hands to the edge). */
  readonly publicKeyPem: string;
}

export function releasesModule(ports: ReleasesPorts): ReleasesModule {
  let web: ReleasesWeb | undefined;
  const stops: (() => void)[] = [];
  const get = () => started(web, "releases", "the release service");
  return {
    name: "releases",
    migrations: releasesMigrations,
    publishes: ["releaseOffered"],
    consumes: ["edgeConnected", "edgeDisconnected", "updateReported"],
    async start(ctx: ModuleContext) {
      const { config, bus, logger } = ctx;
      const keyFile = config.releases.key_file ?? join(config.data_dir, "release-key.pem");
      const key = loadReleaseKey(keyFile);
      if (key.created) logger.info({ keyFile }, "release key created (back it up: edges claimed from now on trust only it)");
      const service = new ReleaseService({
        db: ctx.db,
        bus,
        key,
        dir: config.releases.dir ?? join(config.data_dir, "releases"),
        defaultDeadlineS: config.releases.health_deadline_s,
        maxPackageBytes: config.releases.max_package_mb * 1024 * 1024,
        logger,
      });
      const guard = (what: string) => (err: unknown) => logger.error({ err }, `releases: ${what} failed`);
      stops.push(
        bus.on("edgeConnected", (e) => {
          service.onConnected(e).catch(guard("offering a release"));
        }),
        bus.on("edgeDisconnected", (e) => service.onDisconnected(e.edgeId)),
        bus.on("updateReported", (r) => {
          service.onReport(r).catch(guard("recording an update report"));
        }),
      );
      web = { service, audit: ctx.audit, ports };
    },
    routes: () => adminRoutes(get),
    publicRoutes: () => publicRoutes(get),
    async stop() {
      for (const stop of stops.splice(0)) stop();
      web = undefined;
    },
    get service() {
      return get().service;
    },
    get publicKeyPem() {
      return get().service.publicKeyPem;
    },
  };
}
