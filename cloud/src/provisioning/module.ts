/**
 * The provisioning module: claim codes an admin issues for a new edge, the public exchange of a
 * code for the edge's identity and credential, and the installer and packages a site downloads
 * (edge/deploy/README.md). It reaches the fleet and ingest only through the ports main.ts passes;
 * it comes after ingest in the module list, since it enrols its claimed edges there at start.
 */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { fingerprintOf, publicKeyPin } from "../platform/tls.js";
import { ClaimService } from "./claim-service.js";
import { EdgePackages } from "./edge-packages.js";
import { provisioningMigrations } from "./migrations.js";
import type { ProvisioningPorts } from "./ports.js";
import { adminRoutes, type ProvisioningWeb, publicRoutes } from "./routes.js";

export interface ProvisioningModule extends CloudModule {
  readonly claims: ClaimService;
}

export function provisioningModule(ports: ProvisioningPorts): ProvisioningModule {
  let web: ProvisioningWeb | undefined;
  const get = () => started(web, "provisioning", "claim codes");
  return {
    name: "provisioning",
    migrations: provisioningMigrations,
    publishes: [],
    consumes: [],
    async start(ctx: ModuleContext) {
      const { provisioning } = ctx.config;
      const claims = new ClaimService(ctx.db, ports, ctx.audit);
      await claims.start();
      web = {
        claims,
        packages: new EdgePackages(provisioning.packages_dir ?? `${ctx.config.data_dir}/edge-packages`),
        audit: ctx.audit,
        defaultTtlMinutes: provisioning.claim_ttl_minutes,
        grpcUrl: (req) => provisioning.grpc_url ?? `${req.hostname}:${ports.grpcPort()}`,
        // EdgeSync's certificate (platform/tls.ts): the fingerprint an installer pins; null when plain text.
        certificateFingerprint: () => (ctx.tls.grpc ? fingerprintOf(ctx.tls.grpc.cert) : null),
        caCertificate: () => ctx.tls.grpc?.devCa?.toString("utf8") ?? null,
        httpsPin: () => (ctx.tls.http?.devCa ? publicKeyPin(ctx.tls.http.cert) : null),
        releasePublicKey: ports.releasePublicKey,
      };
    },
    routes: () => adminRoutes(lazy()),
    publicRoutes: () => publicRoutes(lazy()),
    async stop() {
      web = undefined;
    },
    get claims() {
      return get().claims;
    },
  };
  // Routes are built before start (the app is assembled once); they read the services per request.
  function lazy(): ProvisioningWeb {
    return {
      get claims() {
        return get().claims;
      },
      get packages() {
        return get().packages;
      },
      get audit() {
        return get().audit;
      },
      get defaultTtlMinutes() {
        return get().defaultTtlMinutes;
      },
      grpcUrl: (req) => get().grpcUrl(req),
      certificateFingerprint: () => get().certificateFingerprint(),
      caCertificate: () => get().caCertificate(),
      httpsPin: () => get().httpsPin(),
      releasePublicKey: () => get().releasePublicKey(),
    };
  }
}
