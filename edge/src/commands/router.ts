/**
 * The command router: a Command from the cloud is checked against the device's catalog type,
 * published through the device gateway and followed to its end. Statuses reported back:
 * DELIVERED once published, then SUCCEEDED / FAILED from the device's answer; REJECTED for an
 * unknown device, a bad command or unparsable parameters; EXPIRED when expiresAtMs passes first.
 * A commandId seen before is never sent to the device again; its last status is re-reported.
 */
import { errorMessage, type Logger } from "@bitvelocity/common";
import { type CommandResultMessage, deviceType, type MetricValue, validateCommand } from "@bitvelocity/devices";
import { type Command, type CommandResult, CommandStatus } from "@bitvelocity/proto";
import type { DeviceGateway } from "./device-gateway.js";

export interface CommandRouterOptions {
  readonly gateway: DeviceGateway;
  /** Hands a result to the link (kept while offline). */
  readonly report: (result: CommandResult) => void;
  readonly logger: Logger;
  /** Each status reported for the first time (for metrics). */
  readonly onStatus?: (status: CommandStatus) => void;
  readonly now?: () => number;
  /** Deadline for commands the cloud sent without expiresAtMs. */
  readonly defaultTtlMs?: number;
}

interface Tracked {
  readonly deviceId: string;
  delivered: boolean;
  final: boolean;
  last: CommandResult;
  timer?: NodeJS.Timeout;
}

type Checked = { ok: true; params: Record<string, MetricValue> } | { ok: false; status: CommandStatus; message: string };

/** Commands remembered for de-duplication (oldest finished ones are forgotten first). */
const MAX_TRACKED = 10_000;
/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class CommandRouter {
  private readonly tracked = new Map<string, Tracked>();
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly options: CommandRouterOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.unsubscribe ??= this.options.gateway.onCommandResult((deviceId, result) => this.onDeviceResult(deviceId, result));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.tracked.values()) clearTimeout(t.timer);
  }

  handle(command: Command): void {
    const known = this.tracked.get(command.commandId);
    if (known) {
      this.options.logger.debug({ commandId: command.commandId }, "duplicate command not re-sent");
      this.options.report({ ...known.last, timeMs: this.now() });
      return;
    }
    const entry: Tracked = { deviceId: command.deviceId, delivered: false, final: false, last: this.pending(command) };
    if (command.commandId !== "") this.remember(command.commandId, entry);
    const checked = this.check(command);
    if (!checked.ok) {
      this.finish(command.commandId, entry, checked.status, checked.message);
      return;
    }
    const remaining = command.expiresAtMs > 0 ? command.expiresAtMs - this.now() : (this.options.defaultTtlMs ?? 15 * 60_000);
    entry.timer = setTimeout(
      () => {
        if (!entry.final)
          this.finish(command.commandId, entry, CommandStatus.COMMAND_STATUS_EXPIRED, "no answer from the device before the deadline");
      },
      Math.min(remaining, MAX_TIMER_MS),
    );
    entry.timer.unref();
    this.options.gateway.sendCommand(command.deviceId, { id: command.commandId, name: command.name, params: checked.params }).then(
      () => this.markDelivered(command.commandId, entry),
      (err: unknown) => {
        if (!entry.final)
          this.finish(command.commandId, entry, CommandStatus.COMMAND_STATUS_FAILED, `could not deliver: ${errorMessage(err)}`);
      },
    );
  }

  /** The validated parameters, or why the command cannot be sent. */
  private check(command: Command): Checked {
    const rejected = CommandStatus.COMMAND_STATUS_REJECTED;
    if (command.commandId === "") return { ok: false, status: rejected, message: "commandId is empty" };
    let params: unknown;
    try {
      params = command.paramsJson === "" ? {} : JSON.parse(command.paramsJson);
    } catch (err) {
      return { ok: false, status: rejected, message: `paramsJson is not valid JSON: ${errorMessage(err)}` };
    }
    const device = this.options.gateway.devices().find((d) => d.deviceId === command.deviceId);
    if (!device) return { ok: false, status: rejected, message: `unknown device ${JSON.stringify(command.deviceId)}` };
    const type = deviceType(device.deviceType);
    if (!type) return { ok: false, status: rejected, message: `device type ${JSON.stringify(device.deviceType)} is not in the catalog` };
    const checked = validateCommand(type, command.name, params);
    if ("problems" in checked) {
      return { ok: false, status: rejected, message: checked.problems.map((p) => `${p.path}: ${p.message}`).join("; ") };
    }
    if (command.expiresAtMs > 0 && command.expiresAtMs <= this.now()) {
      return { ok: false, status: CommandStatus.COMMAND_STATUS_EXPIRED, message: "expired before it reached the edge" };
    }
    return { ok: true, params: checked.params };
  }

  private onDeviceResult(deviceId: string, result: CommandResultMessage): void {
    const entry = this.tracked.get(result.id);
    if (!entry || entry.final || entry.deviceId !== deviceId) {
      this.options.logger.debug({ deviceId, commandId: result.id }, "command result without a pending command ignored");
      return;
    }
    if (!entry.delivered) this.markDelivered(result.id, entry);
    const status = result.status === "succeeded" ? CommandStatus.COMMAND_STATUS_SUCCEEDED : CommandStatus.COMMAND_STATUS_FAILED;
    this.finish(result.id, entry, status, result.message ?? "", result.result ? JSON.stringify(result.result) : "");
  }

  private markDelivered(commandId: string, entry: Tracked): void {
    if (entry.delivered || entry.final) return;
    entry.delivered = true;
    this.emit(entry, {
      commandId,
      deviceId: entry.deviceId,
      status: CommandStatus.COMMAND_STATUS_DELIVERED,
      message: "",
      resultJson: "",
      timeMs: this.now(),
    });
  }

  private finish(commandId: string, entry: Tracked, status: CommandStatus, message: string, resultJson = ""): void {
    entry.final = true;
    clearTimeout(entry.timer);
    this.emit(entry, { commandId, deviceId: entry.deviceId, status, message, resultJson, timeMs: this.now() });
  }

  private emit(entry: Tracked, result: CommandResult): void {
    entry.last = result;
    this.options.onStatus?.(result.status);
    try {
      this.options.report(result);
    } catch (err) {
      this.options.logger.error({ err }, "could not report a command result");
    }
  }

  private pending(command: Command): CommandResult {
    const status = CommandStatus.COMMAND_STATUS_PENDING;
    return { commandId: command.commandId, deviceId: command.deviceId, status, message: "", resultJson: "", timeMs: this.now() };
  }

  private remember(commandId: string, entry: Tracked): void {
    this.tracked.set(commandId, entry);
    if (this.tracked.size <= MAX_TRACKED) return;
    for (const [id, t] of this.tracked) {
      if (t.final) {
        this.tracked.delete(id);
        return;
      }
    }
  }
}
