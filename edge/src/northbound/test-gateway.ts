/** Test helper: a DeviceGateway in memory, with a scriptable device answer. */
import type { CommandMessage, CommandResultMessage } from "@bitvelocity/devices";
import type { DeviceGateway, DeviceInfo, PresenceChange } from "../commands/device-gateway.js";

export class TestGateway implements DeviceGateway {
  readonly sent: { deviceId: string; command: CommandMessage }[] = [];
  /** Answer each command with this (after `answerDelayMs`), or stay silent when undefined. */
  answer: ((command: CommandMessage) => Omit<CommandResultMessage, "id"> | undefined) | undefined;
  answerDelayMs = 0;
  private readonly results = new Set<(deviceId: string, result: CommandResultMessage) => void>();
  private readonly presence = new Set<(change: PresenceChange) => void>();

  constructor(private readonly list: DeviceInfo[]) {}

  devices(): DeviceInfo[] {
    return this.list.map((d) => ({ ...d }));
  }

  async sendCommand(deviceId: string, command: CommandMessage): Promise<void> {
    if (!this.list.some((d) => d.deviceId === deviceId)) throw new Error(`unknown device ${deviceId}`);
    this.sent.push({ deviceId, command });
    const answer = this.answer?.(command);
    if (answer) setTimeout(() => this.publishResult(deviceId, { id: command.id, ...answer }), this.answerDelayMs);
  }

  publishResult(deviceId: string, result: CommandResultMessage): void {
    for (const l of this.results) l(deviceId, result);
  }

  setPresence(change: PresenceChange): void {
    const d = this.list.find((x) => x.deviceId === change.deviceId);
    if (d) this.list[this.list.indexOf(d)] = { ...d, online: change.online, lastSeenMs: change.timeMs };
    for (const l of this.presence) l(change);
  }

  onCommandResult(listener: (deviceId: string, result: CommandResultMessage) => void): () => void {
    this.results.add(listener);
    return () => this.results.delete(listener);
  }

  onPresence(listener: (change: PresenceChange) => void): () => void {
    this.presence.add(listener);
    return () => this.presence.delete(listener);
  }
}
