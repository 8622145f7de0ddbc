/** One DeviceGateway over several (the MQTT broker, the connector host): each device belongs to exactly one. */
import type { CommandMessage, CommandResultMessage } from "@bitvelocity/devices";
import type { DeviceGateway, DeviceInfo, PresenceChange } from "./device-gateway.js";

export class CompositeGateway implements DeviceGateway {
  constructor(private readonly gateways: readonly DeviceGateway[]) {}

  devices(): DeviceInfo[] {
    return this.gateways.flatMap((g) => g.devices());
  }

  sendCommand(deviceId: string, command: CommandMessage): Promise<void> {
    const owner = this.gateways.find((g) => g.devices().some((d) => d.deviceId === deviceId));
    return owner ? owner.sendCommand(deviceId, command) : Promise.reject(new Error(`unknown device ${deviceId}`));
  }

  onCommandResult(listener: (deviceId: string, result: CommandResultMessage) => void): () => void {
    const offs = this.gateways.map((g) => g.onCommandResult(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  onPresence(listener: (change: PresenceChange) => void): () => void {
    const offs = this.gateways.map((g) => g.onPresence(listener));
    return () => {
      for (const off of offs) off();
    };
  }
}
