/**
 * The southbound plug-in shape (STYLE.md): the constructor only assigns, work starts in start().
 * A connector reads equipment (OPC UA, Modbus) and hands readings to the sink, which is the same
 * pipeline as MQTT readings (normalize → filter → outbox); a reading is accepted once the sink
 * resolves (committed in the outbox).
 */
import type { Logger } from "@bitvelocity/common";
import type { DeviceType, MetricValue, MetricValues } from "@bitvelocity/devices";
import type { Registry } from "prom-client";
import type { ZodType } from "zod";

export interface ConnectorDevice {
  readonly id: string;
  readonly type: DeviceType;
  readonly name: string;
}

export interface DeviceCommand {
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly params: Record<string, MetricValue>;
}

export type CommandOutcome =
  | { readonly status: "succeeded"; readonly result?: Record<string, unknown> }
  | { readonly status: "failed"; readonly message: string; readonly code?: string };

/** Where a connector hands what it read; implemented by the host over the pipeline. */
export interface ConnectorSink {
  /** Validates, filters and commits the values; resolves once committed (or suppressed, or dead-lettered). */
  values(deviceId: string, values: MetricValues, deviceTimeMs?: number): Promise<void>;
  /** The device answers (or stopped answering). */
  presence(deviceId: string, online: boolean, reason: string): void;
}

export interface ConnectorStatus {
  readonly connected: boolean;
  /** The last error's code (BvError), e.g. OPCUA_CERT_UNTRUSTED, MODBUS_TIMEOUT. */
  readonly lastError?: string;
}

export interface Connector {
  readonly id: string;
  readonly devices: readonly ConnectorDevice[];
  /** Starts connecting (in the background; reconnects on its own until the signal aborts). */
  start(sink: ConnectorSink, signal: AbortSignal): Promise<void>;
  write?(command: DeviceCommand): Promise<CommandOutcome>;
  status(): ConnectorStatus;
  stop(): Promise<void>;
}

export interface ConnectorContext {
  /** The edge's data directory (the OPC UA certificate store lives under it). */
  readonly dataDir: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface ConnectorPlugin<C extends { readonly id: string; readonly type: string }> {
  readonly type: C["type"];
  readonly schema: ZodType<C>;
  /** Builds the connector; heavy protocol libraries are imported here, only when configured. */
  create(config: C, context: ConnectorContext): Promise<Connector>;
}
