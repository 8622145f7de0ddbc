/**
 * Slash commands, answered in the room: /status, /ack, /resolve, /cmd, /order, /help. They act
 * through ports onto the alerts and fleet services (the same validation and state rules as the
 * dashboard), with the same roles and audit entries (`via: "chat"` in the detail). Refusals,
 * problems and help go privately to the sender as a notice; what was done is posted by the bot.
 *
 * A `/cmd` waits for its device's result in cloud.db (pending-commands.ts), not in memory: the
 * result is posted by whichever node hears the command finish, and a node that starts posts the
 * results that came in while it was down (asking the command service) and waits for the rest.
 */
import type { SendResult } from "@bitvelocity/api";
import { isBvError } from "@bitvelocity/common";
import type { AuditLog, Principal } from "../identity/index.js";
import { hasRole } from "../identity/index.js";
import type { ValidationError } from "../platform/errors.js";
import type { EventBus } from "../platform/event-bus.js";
import type { CommandView, Value } from "../platform/events.js";
import { botClientId } from "./bot.js";
import type { ChatService } from "./chat-service.js";
import type { RoomRow } from "./chat-store.js";
import type { PendingCommand, PendingCommands } from "./pending-commands.js";
import type { ChatPorts } from "./ports.js";
import { SlidingWindow } from "./rate-limit.js";

export const HELP = [
  "/status [EDGE|DEVICE] — the site's edges, or one edge or device",
  "/ack ALERT — acknowledge an alert (operator)",
  "/resolve ALERT — resolve an alert (operator)",
  "/cmd DEVICE COMMAND key=value… — send a command to a device (operator)",
  "/order ID — the order's room",
  "/help — this list",
].join("\n");

export const COMMANDS = ["/status", "/ack", "/resolve", "/cmd", "/order", "/help"] as const;

const FINAL = new Set(["succeeded", "failed", "expired", "rejected"]);

/** `key=value` → typed value: numbers and booleans as such, the rest as text. */
export function parseParams(args: readonly string[]): { params: Record<string, Value>; problems: string[] } {
  const params: Record<string, Value> = {};
  const problems: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) {
      problems.push(`expected key=value, got ${JSON.stringify(arg)}`);
      continue;
    }
    const key = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    params[key] = raw === "true" ? true : raw === "false" ? false : raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return { params, problems };
}

export class ChatOps {
  private readonly limit = new SlidingWindow(10, 10_000);
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly chat: ChatService,
    private readonly ports: Pick<ChatPorts, "alerts" | "commands" | "directory">,
    private readonly audit: AuditLog,
    private readonly bus: EventBus,
    private readonly pending: PendingCommands,
  ) {}

  /** Listens for results first, then resumes: a result that lands in between is posted once (its post is idempotent). */
  async start(): Promise<number> {
    this.offs.push(this.bus.on("commandUpdated", (c) => this.onCommand(c)));
    return this.resume();
  }

  /**
   * The commands sent from chat that still wait for a post: those that finished while no node
   * was listening are posted now; the others keep waiting for their commandUpdated. Returns how
   * many were posted.
   */
  async resume(): Promise<number> {
    let posted = 0;
    for (const p of await this.pending.all()) {
      const c = await this.ports.commands().get(p.commandId);
      // A command the command service no longer has will never finish: stop waiting for it.
      if (!c) await this.pending.remove(p.commandId);
      else if (FINAL.has(c.status)) {
        await this.finish(p, c);
        posted++;
      }
    }
    return posted;
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  readonly run = async (user: Principal, room: RoomRow, text: string): Promise<SendResult> => {
    const [name = "", ...args] = text.split(/\s+/);
    const notice = (code: string, message: string): SendResult => ({ message: null, notice: { roomId: room.id, code, text: message } });
    const wait = this.limit.take(user.username);
    if (wait > 0) return notice("RATE_LIMITED", `too many commands; try again in ${Math.ceil(wait / 1000)} s`);
    switch (name) {
      case "/help":
        return notice("HELP", HELP);
      case "/status":
        return this.status(room, args[0]);
      case "/ack":
      case "/resolve":
        return this.alert(user, room, name, args, notice);
      case "/cmd":
        return this.command(user, room, args, notice);
      case "/order": {
        const id = args[0]?.replace(/^order:/, "");
        if (!id) return notice("VALIDATION_FAILED", "usage: /order ID");
        const exists = await this.chat.store.room(`order:${id}`);
        return notice(exists ? "OK" : "NOT_FOUND", exists ? `order:${id} — its room is order:${id}` : `no order:${id} known to chat yet`);
      }
      default:
        return notice("UNKNOWN_COMMAND", `unknown command ${name}\n${HELP}`);
    }
  };

  private async status(room: RoomRow, id: string | undefined): Promise<SendResult> {
    const dir = this.ports.directory();
    let text: string;
    if (!id) {
      const siteId = room.kind === "site" ? room.id.slice("site:".length) : undefined;
      const edges = dir.edges().filter((e) => siteId === undefined || e.siteId === siteId);
      text =
        edges.length === 0
          ? "No edges here."
          : edges
              .map((e) => `#${e.id} ${e.online ? "online" : "offline"}${e.status ? `, outbox ${e.status.outboxReadings} readings` : ""}`)
              .join("\n");
    } else {
      const edge = dir.edge(id);
      const device = dir.device(id);
      if (edge)
        text = `#${edge.id} (${edge.name}) is ${edge.online ? "online" : "offline"}${edge.agentVersion ? `, agent ${edge.agentVersion}` : ""}.`;
      else if (device) {
        const latest = Object.entries(device.latest)
          .map(([k, v]) => `${k}=${String(v.value)}`)
          .join(" ");
        text = `#${device.id} (${device.type}) is ${device.online ? "online" : "offline"}${latest ? `: ${latest}` : ""}.`;
      } else return { message: null, notice: { roomId: room.id, code: "NOT_FOUND", text: `no edge or device ${id}` } };
    }
    const message = await this.chat.post(room.id, botClientId("status", Date.now(), Math.random().toString(36).slice(2, 8)), text);
    return { message, notice: null };
  }

  private async alert(
    user: Principal,
    room: RoomRow,
    name: "/ack" | "/resolve",
    args: readonly string[],
    notice: (code: string, text: string) => SendResult,
  ): Promise<SendResult> {
    const ref = args[0]?.replace(/^!?alert-/, "");
    if (!ref) return notice("VALIDATION_FAILED", `usage: ${name} ALERT`);
    const action = name === "/ack" ? "alert.acknowledge" : "alert.resolve";
    if (!hasRole(user.role, "operator")) return this.refuse(user, room, action, ref, notice);
    const found = await this.ports.alerts().find(ref);
    if (!found) return notice("NOT_FOUND", `no alert ${ref} (give its id or at least its first 6 characters)`);
    try {
      const a =
        name === "/ack"
          ? await this.ports.alerts().acknowledge(found.id, user.username)
          : await this.ports.alerts().resolve(found.id, user.username);
      await this.audit.record({
        actor: user.username,
        via: user.via,
        action,
        target: a.id,
        detail: { rule: a.ruleName, subject: a.subjectId, via: "chat" },
      });
      // The same id the bot uses for this alert's state change: in the alert's own room it is posted once.
      const text = name === "/ack" ? `!alert-${a.id} acknowledged by @${user.username}.` : `!alert-${a.id} resolved by @${user.username}.`;
      const message = await this.chat.post(room.id, botClientId("alert", a.id, name === "/ack" ? "ack" : "resolved"), text);
      return { message, notice: null };
    } catch (err) {
      if (isBvError(err)) return notice(err.code, err.message);
      throw err;
    }
  }

  private async command(
    user: Principal,
    room: RoomRow,
    args: readonly string[],
    notice: (code: string, text: string) => SendResult,
  ): Promise<SendResult> {
    const [deviceId, commandName, ...rest] = args;
    if (!deviceId || !commandName) return notice("VALIDATION_FAILED", "usage: /cmd DEVICE COMMAND key=value…");
    if (!hasRole(user.role, "operator")) return this.refuse(user, room, "command.send", deviceId, notice, { name: commandName });
    const { params, problems } = parseParams(rest);
    if (problems.length > 0) return notice("VALIDATION_FAILED", problems.join("; "));
    try {
      const c = await this.ports.commands().create({ deviceId, name: commandName, params, requestedBy: user.username });
      await this.audit.record({
        actor: user.username,
        via: user.via,
        action: "command.send",
        target: c.deviceId,
        detail: { commandId: c.id, name: c.name, params: c.params, via: "chat" },
      });
      const waiting = { commandId: c.id, roomId: room.id, requestedBy: user.username };
      await this.pending.add(waiting);
      const shown = Object.entries(c.params)
        .map(([k, v]) => ` ${k}=${String(v)}`)
        .join("");
      const message = await this.chat.post(
        room.id,
        botClientId("cmd", c.id, "sent"),
        `@${user.username} sent ${c.name}${shown} to #${c.deviceId} (command ${c.id.slice(0, 8)}).`,
      );
      // A result that came in before the row above was written found nothing to answer: answer it now.
      const now = await this.ports.commands().get(c.id);
      if (now && FINAL.has(now.status)) await this.finish(waiting, now);
      return { message, notice: null };
    } catch (err) {
      if (isBvError(err)) {
        const problems = (err as ValidationError).problems ?? [];
        return notice(err.code, [err.message, ...problems.map((p) => `${p.path}: ${p.message}`)].join("\n"));
      }
      throw err;
    }
  }

  private async refuse(
    user: Principal,
    room: RoomRow,
    action: string,
    target: string,
    notice: (code: string, text: string) => SendResult,
    detail: Record<string, unknown> = {},
  ): Promise<SendResult> {
    await this.audit.record({
      actor: user.username,
      via: user.via,
      action: `${action}.refused`,
      target,
      detail: { ...detail, room: room.id, via: "chat", role: user.role },
    });
    return notice("FORBIDDEN", `this needs the operator role; you are ${user.role}`);
  }

  private async onCommand(c: CommandView): Promise<void> {
    if (!FINAL.has(c.status)) return;
    const p = await this.pending.get(c.id);
    if (p) await this.finish(p, c);
  }

  /** Posts the result, then stops waiting (a crash in between posts it again: same client id, one message). */
  private async finish(p: PendingCommand, c: CommandView): Promise<void> {
    const result = c.result === null || c.result === undefined ? "" : ` → ${JSON.stringify(c.result).slice(0, 500)}`;
    await this.chat.post(
      p.roomId,
      botClientId("cmd", c.id, c.status),
      `${c.name} on #${c.deviceId}: ${c.status}${c.message ? ` (${c.message})` : ""}${result} (@${p.requestedBy})`,
    );
    await this.pending.remove(c.id);
  }
}
