/**
 * The composition root (STYLE.md): the platform, then the list of domain modules in start order,
 * the ports that connect them, and the HTTP app over them. Modules stop in reverse order, then the
 * platform. Adding a domain = one folder exporting a CloudModule + one entry in `modules` below.
 */
import { listen } from "@bitvelocity/common";
import type { AlertService } from "./alerts/alert-service.js";
import { alertsModule } from "./alerts/module.js";
import { chatModule } from "./chat/module.js";
import type { ChatAlerts, ChatOrders } from "./chat/ports.js";
import { type CommerceModule, commerceModule } from "./commerce/module.js";
import { fleetModule } from "./fleet/module.js";
import { LoginRateLimiter } from "./identity/index.js";
import { identityModule } from "./identity/module.js";
import { ingestModule } from "./ingest/module.js";
import { integrationModule } from "./integration/module.js";
import { SoapCarrier } from "./integration/soap/carrier-client.js";
import { liveModule } from "./live/module.js";
import type { CloudConfig } from "./platform/config.js";
import { checkDatabase } from "./platform/database.js";
import { NotFoundError } from "./platform/errors.js";
import { componentLogger, type Logger, rootLogger } from "./platform/logger.js";
import type { CloudModule } from "./platform/module.js";
import { startPlatform } from "./platform/platform.js";
import { provisioningModule } from "./provisioning/module.js";
import { releasesModule } from "./releases/module.js";
import { telemetryModule } from "./telemetry/module.js";
import { createApp } from "./web/app.js";
import { type GraphqlAdapter, mountGraphql } from "./web/graphql/index.js";
import { defaultDashboardDir } from "./web/static-dashboard.js";

export interface CloudOptions {
  readonly logger?: Logger;
  /** Where the built dashboard is; defaults to cloud/dist/dashboard. */
  readonly dashboardDir?: string;
  /** Collect Node process metrics on /metrics (default true). */
  readonly processMetrics?: boolean;
}

export interface CloudHandle {
  readonly ports: { readonly http: number; readonly grpc: number };
  stop(): Promise<void>;
}

/** The cloud's domains in start order, and the ports that connect them. */
export function cloudModules() {
  const identity = identityModule();
  const telemetry = telemetryModule();
  const fleet = fleetModule();
  const alerts = alertsModule({ directory: () => fleet.registry });
  const live = liveModule({ auth: () => identity, directory: () => fleet.registry });
  const commerce = commerceModule({
    // The Shipping port: the SOAP carrier adapter, when a carrier is configured.
    shipping: ({ config, registry }) => {
      const c = config.commerce;
      if (!c.carrier_url) return undefined;
      return new SoapCarrier(
        {
          url: c.carrier_url,
          timeoutMs: c.carrier_timeout_ms,
          retries: c.carrier_attempts - 1,
          breakerFailures: c.breaker_failures,
          halfOpenAfterMs: c.breaker_half_open_ms,
        },
        registry,
      );
    },
  });
  const chat = chatModule({
    auth: () => identity,
    users: () => identity.users,
    io: () => live.hub.server,
    directory: () => fleet.registry,
    alerts: () => alertPort(alerts.service),
    commands: () => fleet.commands,
    orders: () => orderPort(commerce),
  });
  const integration = integrationModule({ orders: () => commerce.shipments });
  const ingest = ingestModule({ store: () => telemetry.store, ownership: () => fleet.owners });
  const releases = releasesModule({ authenticateEdge: (edgeId, token) => ingest.server.authenticate(edgeId, token) });
  const provisioning = provisioningModule({
    siteExists: (id) => fleet.registry.hasSite(id),
    edgeOnline: (id) => fleet.registry.edge(id)?.online,
    enroll: (edge) => {
      fleet.registry.addEdge(edge);
      ingest.server.enroll(edge);
    },
    grpcPort: () => ingest.grpcPort,
    releasePublicKey: () => releases.publicKeyPem,
  });
  // A module starts after the modules its ports read; ingest opens the gRPC listener, provisioning enrols claimed edges there.
  // Releases comes before ingest: it must hear every edgeConnected.
  const modules: readonly CloudModule[] = [
    identity,
    telemetry,
    fleet,
    alerts,
    live,
    commerce,
    chat,
    integration,
    releases,
    ingest,
    provisioning,
  ];
  return { modules, identity, telemetry, fleet, alerts, live, commerce, chat, integration, releases, ingest, provisioning };
}

/** Chat's order port: commerce's order read model (an unknown order is undefined, other failures throw). */
function orderPort(commerce: CommerceModule): ChatOrders {
  return {
    async order(id) {
      try {
        const o = await commerce.services.projections.order(id);
        return { id: o.id, siteId: o.siteId, placedBy: o.placedBy };
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
  };
}

/** Chat's alert port: the alert service, plus finding an alert by the short id the bot shows. */
function alertPort(service: AlertService): ChatAlerts {
  return {
    async find(ref) {
      if (ref.length < 6) return undefined;
      const exact = await service.alert(ref).catch(() => undefined);
      if (exact) return exact;
      const matches = (await service.alerts({ limit: 1000 })).filter((a) => a.id.startsWith(ref));
      return matches.length === 1 ? matches[0] : undefined;
    },
    acknowledge: (id, by) => service.acknowledge(id, by),
    resolve: (id, by) => service.resolve(id, by),
  };
}

export async function startCloud(config: CloudConfig, options: CloudOptions = {}): Promise<CloudHandle> {
  const logger = rootLogger(options.logger);
  const { modules, identity, telemetry, fleet, alerts, live, commerce, ingest } = cloudModules();

  const platform = await startPlatform(config, modules, logger, { processMetrics: options.processMetrics ?? true });
  const scheme = platform.tls.http ? "https" : "http";
  const started: CloudModule[] = [];
  let graphql: GraphqlAdapter | undefined;
  const stopAll = async () => {
    await graphql?.stop().catch((err: unknown) => logger.warn({ err }, "error while stopping GraphQL"));
    for (const module of started.splice(0).reverse()) {
      try {
        await module.stop();
      } catch (err) {
        logger.warn({ err, module: module.name }, "error while stopping a module");
      }
    }
    await platform.stop();
  };
  try {
    for (const module of modules) {
      started.push(module);
      await module.start({ ...platform, config, logger: componentLogger(logger, module.name) });
    }
    // Adapters over the same services as REST (before createApp: its dashboard fallback would answer /graphql).
    graphql = mountGraphql(platform.app, platform.http, {
      sessions: identity.sessions,
      tokens: identity.tokens,
      audit: platform.audit,
      alerts: alerts.service,
      fleet: fleet.registry,
      commands: fleet.commands,
      telemetry: telemetry.store,
      commerce: commerce.services,
      checkout: commerce.checkout,
      bus: platform.bus,
      registry: platform.registry,
      logger: componentLogger(logger, "graphql"),
      allowedOrigins: config.http.allowed_origins,
      fulfilment: config.amqp.url !== undefined && config.amqp.fulfilment_queue !== undefined,
    });
    createApp(platform.app, {
      users: identity.users,
      sessions: identity.sessions,
      tokens: identity.tokens,
      audit: platform.audit,
      alerts: alerts.service,
      sse: live.sse,
      loginLimiter: new LoginRateLimiter(),
      addressLimiter: new LoginRateLimiter(20),
      allowedOrigins: config.http.allowed_origins,
      sessionTtlMs: identity.sessionTtlMs,
      fleet: fleet.registry,
      commands: fleet.commands,
      telemetry: telemetry.store,
      records: ingest.records,
      edgeAccess: ingest.server,
      registry: platform.registry,
      health: async () => ({ database: await checkDatabase(platform.db), telemetry: await telemetry.store.check() }),
      moduleRoutes: modules.flatMap((m) => (m.routes ? [m.routes()] : [])),
      publicModuleRoutes: modules.flatMap((m) => (m.publicRoutes ? [m.publicRoutes()] : [])),
      dashboardDir: options.dashboardDir ?? defaultDashboardDir(),
      logger: componentLogger(logger, "web"),
    });
    const httpPort = await listen(platform.http, {
      host: config.http.host,
      port: config.http.port,
      what: "HTTP",
      configKey: "http.port",
      envVar: "BV_HTTP_PORT",
    });
    logger.info({ listener: "http", port: httpPort, scheme }, "listening");

    let stopping: Promise<void> | undefined;
    return {
      ports: { http: httpPort, grpc: ingest.grpcPort },
      stop: () => {
        stopping ??= stopAll().then(() => logger.info("stopped"));
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
