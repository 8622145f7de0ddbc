/**
 * How the command router reaches devices, whatever they speak. The MQTT broker implements it
 * (publish on `bv/{id}/cmd`, results from `bv/{id}/cmd/result`); connectors with `write()` will too.
 */
import type { CommandMessage, CommandResultMessage } from "@bitvelocity/devices";

export interface DeviceInfo {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly name: string;
  readonly online: boolean;
  readonly lastSeenMs: number;
}

export interface PresenceChange {
  readonly deviceId: string;
  readonly online: boolean;
  readonly timeMs: number;
  readonly reason: string;
}

export interface DeviceGateway {
  /** Every configured device with its current presence. */
  devices(): DeviceInfo[];
  /** Publishes the command to the device (QoS 1). Rejects when the device is unknown. */
  sendCommand(deviceId: string, command: CommandMessage): Promise<void>;
  /** Results the devices publish; returns an unsubscribe function. */
  onCommandResult(listener: (deviceId: string, result: CommandResultMessage) => void): () => void;
  onPresence(listener: (change: PresenceChange) => void): () => void;
}
