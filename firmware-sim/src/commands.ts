/**
 * What a device's firmware does with a message on `bv/{id}/cmd`: decode, validate against the
 * device type, apply, answer. Commands are answered once per id: a redelivered command (QoS 1 DUP)
 * gets the first answer again instead of being applied twice.
 */
import {
  type CommandResultMessage,
  type DeviceType,
  decodeCommand,
  type MetricValue,
  type ValueProblem,
  validateCommand,
} from "@bitvelocity/devices";
import type { CommandOutcome, DeviceModel } from "./signals/index.js";

/** Effects that belong to the device (timers, LEDs), not to its signal model. */
export interface DeviceControls {
  setIntervalMs(ms: number): void;
  identify(seconds: number): void;
  /** Starts an over-the-air update; the device answers through `complete()` after its reboot. */
  otaUpdate?(commandId: string, version: string, sizeKb: number): void;
}

/** handle() returns this when the answer comes later (an OTA update answers after its reboot). */
export const PENDING = "pending" as const;

const REMEMBERED = 64;

function describeProblems(problems: readonly ValueProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
}

/** The command id of a payload decodeCommand refused, if it has one, so the sender gets an answer. */
function salvageId(payload: Buffer): string | undefined {
  try {
    const body = JSON.parse(payload.toString("utf8")) as unknown;
    if (typeof body === "object" && body !== null && "id" in body && typeof body.id === "string" && body.id.length > 0) return body.id;
  } catch {
    // not JSON at all: nobody to answer
  }
  return undefined;
}

export class CommandHandler {
  private readonly answered = new Map<string, CommandResultMessage>();

  constructor(
    private readonly type: DeviceType,
    private readonly model: DeviceModel,
    private readonly controls: DeviceControls,
  ) {}

  private readonly inProgress = new Set<string>();

  /** The answer to publish on `cmd/result`, undefined when the payload has no id to answer to, PENDING when it comes later. */
  handle(payload: Buffer): CommandResultMessage | undefined | typeof PENDING {
    const decoded = decodeCommand(payload);
    if (!decoded.ok) {
      const id = salvageId(payload);
      return id === undefined ? undefined : { id, status: "failed", message: describeProblems(decoded.problems) };
    }
    const { id, name, params } = decoded.value;
    const previous = this.answered.get(id);
    if (previous) return previous;
    if (this.inProgress.has(id)) return PENDING;
    const checked = validateCommand(this.type, name, params);
    if (!("problems" in checked) && name === "ota_update" && this.controls.otaUpdate) {
      this.inProgress.add(id);
      this.controls.otaUpdate(id, checked.params.version as string, (checked.params.size_kb as number | undefined) ?? 512);
      return PENDING;
    }
    const outcome: CommandOutcome =
      "problems" in checked ? { ok: false, message: describeProblems(checked.problems) } : this.apply(name, checked.params);
    const result: CommandResultMessage = outcome.ok
      ? { id, status: "succeeded", ...(outcome.result ? { result: outcome.result } : {}) }
      : { id, status: "failed", message: outcome.message };
    this.remember(result);
    return result;
  }

  /** The late answer to a PENDING command, remembered like any other. */
  complete(result: CommandResultMessage): CommandResultMessage {
    this.inProgress.delete(result.id);
    this.remember(result);
    return result;
  }

  private remember(result: CommandResultMessage): void {
    this.answered.set(result.id, result);
    if (this.answered.size > REMEMBERED) this.answered.delete(this.answered.keys().next().value as string);
  }

  private apply(name: string, params: Record<string, MetricValue>): CommandOutcome {
    try {
      if (name === "set_interval") {
        const seconds = params.interval_s as number;
        this.controls.setIntervalMs(seconds * 1000);
        return { ok: true, result: { interval_s: seconds } };
      }
      if (name === "identify") {
        this.controls.identify(10);
        return { ok: true, result: { identifying: true, duration_s: 10 } };
      }
      return this.model.apply(name, params);
    } catch (err) {
      // A firmware bug must fail the command, not the device.
      return { ok: false, message: `command ${name} failed: ${(err as Error).message}` };
    }
  }
}
