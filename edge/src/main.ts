/**
 * The composition root: build the parts from the config, start them in order, stop them in
 * reverse (stop accepting → stop the link → flush and close the outbox → close HTTP).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLogger, type Logger } from "@bitvelocity/common";
import { collectDefaultMetrics, Registry } from "prom-client";
import { MqttBroker } from "./broker/index.js";
import { CompositeGateway } from "./commands/composite-gateway.js";
import type { DeviceGateway } from "./commands/device-gateway.js";
import type { EdgeConfig } from "./config.js";
import { HealthServer } from "./health/index.js";
import type { LinkHandle } from "./northbound/index.js";
import { CLOCK_TRUSTED_AFTER_MS, Outbox, type OutboxClock } from "./outbox/index.js";
import { filteredSink, ReportFilter } from "./pipeline/filter.js";
import type { DeviceReport } from "./pipeline/report-schema.js";
import { type ConfigLane, openRemoteConfig, RESTART_EXIT_CODE, type RemoteConfigHooks } from "./remote-config/index.js";
import { HeapModeController, launchedByAgent } from "./runtime/heap-mode.js";
import { ConnectorHost } from "./southbound/host.js";
import type { Updater, UpdateSettings } from "./update/index.js";

export interface EdgeHandle {
  readonly ports: { readonly mqtt: number; readonly ws: number | null; readonly http: number };
  readonly gateway: DeviceGateway;
  readonly connectors: ConnectorHost;
  readonly outbox: Outbox;
  readonly bootId: string;
  readonly registry: Registry;
  /** Remote configuration: the version running, ConfigUpdates, rollback. */
  readonly remoteConfig: ConfigLane;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  /** The wall clock and uptime readings are stamped with (tests simulate a clock without RTC). */
  readonly clock?: OutboxClock;
  /** Signed agent updates (edge/src/update); without them, release offers are ignored. */
  readonly updates?: UpdateSettings;
  /** How remote versions load over the file and how the agent restarts for one (default: over `config`; stop, exit 75). */
  readonly remoteConfig?: Partial<RemoteConfigHooks>;
}

/** What a config change needs: the MQTT device list, report strategies and hot broker limits. */
function reportPolicies(config: EdgeConfig): Map<string, DeviceReport> {
  const reports = new Map<string, DeviceReport>();
  // Each connector kind has its own device type: read them through the fields all share.
  const connectorDevices = config.connectors.flatMap((k): readonly { id: string; report?: DeviceReport | undefined }[] => k.devices);
  for (const d of [...config.devices, ...connectorDevices]) if (d.report) reports.set(d.id, d.report);
  return reports;
}

/**
 * The version of the package this agent came in: the nearest package.json of @bitvelocity/edge above
 * this module (dist/main.js, or a chunk of the bundle in dist/bundle/).
 */
function agentVersion(): string {
  for (const up of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@bitvelocity/edge") return pkg.version ?? "0.0.0";
    } catch {
      // not there: look one folder further up
    }
  }
  return "0.0.0";
}

export async function startEdge(fileConfig: EdgeConfig, options: StartOptions = {}): Promise<EdgeHandle> {
  const version = agentVersion();
  const logger = options.logger ?? createLogger("edge");
  let restarting = false;
  // A configuration change that needs a restart, and an agent update that switched releases, end the agent the same way.
  const restartAgent =
    options.remoteConfig?.restart ??
    ((reason: string) => {
      logger.warn({ reason, exitCode: RESTART_EXIT_CODE }, "restarting");
      if (restarting) return;
      restarting = true;
      stop()
        .catch((err: unknown) => logger.error({ err }, "stop before the restart failed"))
        .finally(() => process.exit(RESTART_EXIT_CODE));
    });
  const remote = openRemoteConfig(
    fileConfig,
    { ...options.remoteConfig, restart: restartAgent },
    logger.child({ name: "edge:remote-config" }),
  );
  const config = remote.config;
  const startedAt = performance.now();
  const bootId = randomUUID();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.setDefaultLabels({ edge_id: config.edge_id });

  // Adaptive only in an agent started by its launchers (runtime/heap-mode.ts): a process started otherwise keeps its own choice.
  const heapMode = new HeapModeController({
    adaptive: config.memory.adaptive_heap && launchedByAgent(),
    rssLimitMb: config.memory.rss_limit_mb,
    registry,
    logger: logger.child({ name: "edge:memory" }),
  });
  const clock = options.clock ?? { now: () => Date.now(), uptimeMs: () => performance.now() };
  const outboxLogger = logger.child({ name: "edge:outbox" });
  const lane = (l: EdgeConfig["outbox"]["lanes"]["telemetry"]) => ({ policy: l.policy, ttlMs: l.ttl_hours * 3_600_000 });
  const outbox = Outbox.open({
    dir: config.data_dir,
    commitIntervalMs: config.outbox.commit_interval_ms,
    maxPending: config.outbox.max_pending,
    budgetBytes: Math.round(config.outbox.budget_mb * 1024 * 1024),
    synchronous: config.outbox.synchronous,
    lanes: { telemetry: lane(config.outbox.lanes.telemetry), alarm: lane(config.outbox.lanes.alarm) },
    bootId,
    clock,
    registry,
    onAlarm: (code, detail) =>
      detail ? outboxLogger.error({ code }, `outbox alarm: ${detail}`) : outboxLogger.info({ code }, "outbox alarm cleared"),
  });
  const filter = new ReportFilter(reportPolicies(config), registry);
  const sink = filteredSink(filter, outbox);
  const broker = new MqttBroker({
    host: config.mqtt.host,
    port: config.mqtt.port,
    wsPort: config.mqtt.ws_port,
    limits: config.mqtt.limits,
    ...(config.mqtt.tls ? { tls: config.mqtt.tls } : {}),
    devices: config.devices,
    sink,
    registry,
    logger: logger.child({ name: "edge:broker" }),
  });
  const connectors = new ConnectorHost({ connectors: config.connectors, sink, dataDir: config.data_dir, registry, logger });
  const gateway = config.connectors.length > 0 ? new CompositeGateway([broker, connectors]) : broker;
  let link: LinkHandle | undefined;
  let health: HealthServer | undefined;
  let updater: Updater | undefined;
  const stop = async (): Promise<void> => {
    heapMode.stop();
    updater?.stop();
    remote.lane.stop();
    await broker.stop();
    await connectors.stop();
    await link?.stop();
    outbox.close();
    await health?.stop();
  };

  try {
    const { mqtt, ws } = await broker.start();
    await connectors.start();
    if (config.uplink.tls.insecure) logger.warn("uplink.tls.insecure: EdgeSync is plain text; the edge token crosses the network in clear");
    // The link (gRPC, protobuf) and the updater load once devices can connect: a restart accepts
    // them sooner, and the readings they send wait in the outbox for the link anyway.
    // The updater's modules load with the link's: nothing may await between startLink and the
    // updater's onSession below, or a session opened meanwhile would miss its release offers.
    const [{ startLink }, updateModules] = await Promise.all([
      import("./northbound/index.js"),
      options.updates ? Promise.all([import("./update/index.js"), import("./northbound/presence.js")]) : undefined,
    ]);
    link = startLink({
      config: config.uplink,
      edgeId: config.edge_id,
      siteId: config.site_id,
      agentVersion: version,
      bootId,
      clockSynced: () => clock.now() > CLOCK_TRUSTED_AFTER_MS,
      clock,
      startedAt,
      outbox,
      gateway,
      registry,
      logger: logger.child({ name: "edge:northbound" }),
      connectorStates: () => connectors.states(),
      configVersion: () => remote.lane.runningVersion(),
      configLane: remote.lane,
    });
    const linkHandle = link;
    let running = config;
    remote.lane.start({
      applyHot: (next) => {
        broker.reconfigure(next.devices, next.mqtt.limits);
        filter.setPolicies(reportPolicies(next));
        // The cloud accepts readings of devices a Hello declared: a new device list needs a new Hello.
        const ids = (c: EdgeConfig) => JSON.stringify(c.devices.map((d) => [d.id, d.type]).sort());
        if (ids(running) !== ids(next)) linkHandle.rehandshake();
        running = next;
      },
      post: (configReport) => linkHandle.post({ kind: "configReport", configReport }),
      connected: () => linkHandle.connected(),
    });
    if (options.updates && updateModules) {
      const [{ Updater }, { packageArch }] = updateModules;
      const updates = new Updater({
        settings: options.updates,
        agentVersion: version,
        arch: packageArch(),
        logger: logger.child({ name: "edge:update" }),
        post: (updateReport) => linkHandle.post({ kind: "updateReport", updateReport }),
        restart: restartAgent,
      });
      updater = updates;
      updates.start();
      linkHandle.onSession((session) => {
        updates.onSession();
        session.onReleaseOffer((offer) => void updates.offer(offer));
      });
    }
    health = new HealthServer({
      host: config.http.host,
      port: config.http.port,
      edgeId: config.edge_id,
      registry,
      checks: {
        broker: () => broker.running,
        outbox: () => outbox.isOpen,
        uplink: () => linkHandle.connected(),
        alarms: () => outbox.stats().alarms,
      },
      logger: logger.child({ name: "edge:health" }),
    });
    const http = await health.start();
    logger.info({ edgeId: config.edge_id, bootId, devices: config.devices.length }, "edge started");
    let stopping: Promise<void> | undefined;
    return {
      ports: { mqtt, ws, http },
      gateway,
      connectors,
      outbox,
      bootId,
      registry,
      remoteConfig: remote.lane,
      stop: () => {
        stopping ??= stop().then(() => logger.info("edge stopped"));
        return stopping;
      },
    };
  } catch (err) {
    // On a remote version still on trial, the next start runs the last good one (systemd restarts the agent).
    if (remote.lane.startFailed(err)) logger.error({ err }, "could not start on the remote configuration on trial; rolled back");
    await stop().catch(() => undefined);
    throw err;
  }
}
