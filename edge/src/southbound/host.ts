/**
 * Hosts the configured connectors: builds them through the plug-in map, feeds their values into
 * the pipeline (normalize → filter → outbox), guards the plug-in boundary (a throwing connector
 * is logged and isolated), and is the DeviceGateway for connector devices: a command becomes the
 * connector's write(), whose outcome is the command result.
 */
import { errorMessage, type Logger } from "@bitvelocity/common";
import type { CommandMessage, CommandResultMessage, MetricValues } from "@bitvelocity/devices";
import type { ConnectorState } from "@bitvelocity/proto";
import type { Registry } from "prom-client";
import type { DeviceGateway, DeviceInfo, PresenceChange } from "../commands/device-gateway.js";
import { normalizeValues } from "../pipeline/normalize.js";
import type { ReadingSink } from "../pipeline/sink.js";
import type { Connector, ConnectorDevice, ConnectorSink } from "./connector.js";
import { type ConnectorConfig, createConnector } from "./registry.js";

export interface ConnectorHostOptions {
  readonly connectors: readonly ConnectorConfig[];
  /** The pipeline after normalize: filter → outbox. */
  readonly sink: ReadingSink;
  readonly dataDir: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

interface Entry {
  readonly connector: Connector;
  readonly device: ConnectorDevice;
  online: boolean;
  lastSeenMs: number;
}

export class ConnectorHost implements DeviceGateway {
  private readonly connectors: Connector[] = [];
  private readonly byDevice = new Map<string, Entry>();
  private readonly resultListeners = new Set<(deviceId: string, result: CommandResultMessage) => void>();
  private readonly presenceListeners = new Set<(change: PresenceChange) => void>();
  private readonly abort = new AbortController();

  constructor(private readonly options: ConnectorHostOptions) {}

  async start(): Promise<void> {
    for (const config of this.options.connectors) {
      const logger = this.options.logger.child({ name: `edge:southbound:${config.type}`, connector: config.id });
      const connector = await createConnector(config, { dataDir: this.options.dataDir, registry: this.options.registry, logger });
      this.connectors.push(connector);
      for (const device of connector.devices) this.byDevice.set(device.id, { connector, device, online: false, lastSeenMs: 0 });
      try {
        await connector.start(this.sinkFor(connector, logger), this.abort.signal);
      } catch (err) {
        logger.error({ err }, "connector failed to start; the others keep running");
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(
      this.connectors.map((c) =>
        c.stop().catch((err: unknown) => this.options.logger.warn({ err, connector: c.id }, "connector stop failed")),
      ),
    );
  }

  /** Per connector, for EdgeStatus: state "connected" or "disconnected", detail = the last error code. */
  states(): ConnectorState[] {
    return this.options.connectors.map((config) => {
      const connector = this.connectors.find((c) => c.id === config.id);
      const status = connector?.status() ?? { connected: false, lastError: "NOT_STARTED" };
      return { id: config.id, kind: config.type, state: status.connected ? "connected" : "disconnected", detail: status.lastError ?? "" };
    });
  }

  get connected(): boolean {
    return this.connectors.every((c) => c.status().connected);
  }

  devices(): DeviceInfo[] {
    return [...this.byDevice.values()].map((e) => ({
      deviceId: e.device.id,
      deviceType: e.device.type.type,
      name: e.device.name,
      online: e.online,
      lastSeenMs: e.lastSeenMs,
    }));
  }

  has(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  async sendCommand(deviceId: string, command: CommandMessage): Promise<void> {
    const entry = this.byDevice.get(deviceId);
    if (!entry) throw new Error(`unknown device ${deviceId}`);
    const { connector } = entry;
    if (!connector.write) throw new Error(`connector ${connector.id} does not take commands`);
    // Delivered once handed to the connector; the write's outcome is the result.
    void connector
      .write({ commandId: command.id, deviceId, name: command.name, params: command.params })
      .catch((err: unknown) => ({ status: "failed" as const, message: errorMessage(err) }))
      .then((outcome) => {
        const result: CommandResultMessage =
          outcome.status === "succeeded"
            ? { id: command.id, status: "succeeded", ...(outcome.result ? { result: outcome.result } : {}) }
            : { id: command.id, status: "failed", message: outcome.message };
        for (const l of this.resultListeners) l(deviceId, result);
      });
  }

  onCommandResult(listener: (deviceId: string, result: CommandResultMessage) => void): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  onPresence(listener: (change: PresenceChange) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  private sinkFor(connector: Connector, logger: Logger): ConnectorSink {
    const source = `connector/${connector.id}`;
    return {
      values: async (deviceId: string, values: MetricValues, deviceTimeMs?: number) => {
        const entry = this.byDevice.get(deviceId);
        if (!entry || entry.connector !== connector) {
          logger.warn({ deviceId }, "connector reported a device it does not own");
          return;
        }
        entry.lastSeenMs = Date.now();
        const normalized = normalizeValues(deviceId, entry.device.type, source, values, deviceTimeMs);
        if (normalized.ok) await this.options.sink.append(normalized.reading);
        else await this.options.sink.deadLetter(normalized.deadLetter);
      },
      presence: (deviceId: string, online: boolean, reason: string) => {
        const entry = this.byDevice.get(deviceId);
        if (!entry || entry.online === online) return;
        entry.online = online;
        const timeMs = Date.now();
        if (online) entry.lastSeenMs = timeMs;
        for (const l of this.presenceListeners) {
          try {
            l({ deviceId, online, timeMs, reason });
          } catch (err) {
            logger.warn({ err }, "presence listener failed");
          }
        }
      },
    };
  }
}
