/**
 * The edge's link to the cloud, composed: the gRPC uplink, the link supervisor (reconnects),
 * the drainer (outbox → batches → acks), the command router, status reports and presence.
 */
import type { Logger } from "@bitvelocity/common";
import type { CommandResult, ConnectorState } from "@bitvelocity/proto";
import type { Registry } from "prom-client";
import type { DeviceGateway } from "../commands/device-gateway.js";
import { CommandRouter } from "../commands/router.js";
import { encodeControlBody } from "../outbox/control-body.js";
import type { OutboxReader } from "../outbox/types.js";
import { Drainer } from "./drainer.js";
import { grpcUplink } from "./grpc/index.js";
import { kafkaUplink } from "./kafka/index.js";
import { Link } from "./link.js";
import { commandStatusLabel, linkMetrics } from "./metrics.js";
import { buildHello, forwardPresence } from "./presence.js";
import type { UplinkConfig } from "./schema.js";
import { buildStatus, DrainRate, startStatusReports } from "./status.js";
import { type ControlMessage, configuredLimits, type IncomingConfigUpdate, type UplinkSession } from "./uplink.js";

export interface LinkDeps {
  config: UplinkConfig;
  edgeId: string;
  siteId: string;
  agentVersion: string;
  bootId: string;
  clockSynced: () => boolean;
  /** performance.now() at boot. */
  startedAt: number;
  /** The clock readings are stamped with. */
  clock: { now(): number; uptimeMs(): number };
  outbox: OutboxReader;
  gateway: DeviceGateway;
  registry: Registry;
  logger: Logger;
  /** Southbound connector states for EdgeStatus. */
  connectorStates?: () => ConnectorState[];
  /** The remote configuration version the agent runs (Hello.config_version). */
  configVersion?: () => number;
  /** Remote configuration (remote-config/): told of each welcomed session and each ConfigUpdate. */
  configLane?: ConfigLane;
}

export interface ConfigLane {
  sessionOpened(): void;
  update(update: IncomingConfigUpdate): void;
}

export interface LinkHandle {
  connected(): boolean;
  /** Called with each new welcomed session (agent updates hook in here). */
  onSession(listener: (session: UplinkSession) => void): () => void;
  /** Best effort: false when there is no session to send it on. */
  post(message: ControlMessage): boolean;
  /** Ends the session so the next one's Hello carries the current device list (devices added hot). */
  rehandshake(): void;
  stop(): Promise<void>;
}

export function startLink(deps: LinkDeps): LinkHandle {
  const { config, logger, outbox, gateway } = deps;
  const rate = new DrainRate();
  const metrics = linkMetrics(deps.registry, () => rate.perSecond());
  metrics.connected.set(0);

  const grpc = grpcUplink({ config, logger, hello: () => buildHello({ ...deps, token: config.token }) });
  const uplink =
    config.kind === "kafka" && config.kafka
      ? kafkaUplink({
          control: grpc,
          config: config.kafka,
          edgeId: deps.edgeId,
          limits: configuredLimits(config),
          logger,
        })
      : grpc;
  const link = new Link(uplink, {
    backoffInitialMs: config.backoff_initial_ms,
    backoffMaxMs: config.backoff_max_ms,
    logger,
    onConnectedChange: (up) => metrics.connected.set(up ? 1 : 0),
    onReconnect: () => metrics.reconnects.inc(),
  });
  const drainer = new Drainer({
    outbox,
    link,
    logger,
    replayShare: config.replay_share,
    events: {
      batchSent: (_readings, stream) => metrics.batchesSent.inc({ stream }),
      drained: (acked, rejected) => {
        metrics.readingsAcked.inc(acked);
        metrics.readingsRejected.inc(rejected);
        rate.record(acked + rejected);
      },
    },
  });
  const router = new CommandRouter({
    gateway,
    logger,
    report: (commandResult) => reportDurably(commandResult),
    onStatus: (status) => metrics.commands.inc({ status: commandStatusLabel(status) }),
  });

  // Command results travel in the control lane: kept in the outbox until the cloud stores them.
  const reportDurably = (commandResult: CommandResult): void => {
    try {
      outbox.appendControl("commandResult", encodeControlBody(commandResult));
      drainer.wake();
    } catch (err) {
      logger.error({ err }, "could not store a command result; sending it best effort");
      link.post({ kind: "commandResult", commandResult }, true);
    }
  };
  const offCommands = link.onSession((session) => session.onCommand((command) => router.handle(command)));
  const offConfig = link.onSession((session) => {
    const lane = deps.configLane;
    if (!lane) return;
    session.onConfigUpdate?.((update) => lane.update(update));
    lane.sessionOpened();
  });
  const offPresence = forwardPresence(gateway, link);
  const stopStatus = startStatusReports(
    link,
    config.status_interval_ms,
    () =>
      buildStatus({
        outbox,
        gateway,
        rate,
        agentVersion: deps.agentVersion,
        ...(deps.connectorStates ? { connectorStates: deps.connectorStates } : {}),
        bootId: deps.bootId,
        clockSynced: deps.clockSynced,
        uptimeMs: () => performance.now() - deps.startedAt,
      }),
    (err) => logger.error({ err }, "could not build the edge status"),
  );
  router.start();
  drainer.start();
  link.start();

  let stopping: Promise<void> | undefined;
  return {
    connected: () => link.session() !== undefined,
    onSession: (listener) => link.onSession(listener),
    post: (message) => link.post(message),
    rehandshake: () => link.session()?.close(),
    stop() {
      stopping ??= (async () => {
        stopStatus();
        offPresence();
        offCommands();
        offConfig();
        drainer.stop();
        router.stop();
        await link.stop();
        metrics.connected.set(0);
      })();
      return stopping;
    },
  };
}
