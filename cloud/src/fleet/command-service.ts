/**
 * Commands to devices: validated against the catalog before anything is sent, stored in
 * cloud.db, sent to the edge through `commandRequested` (now if the edge is connected, else
 * when it connects, unless expired), and advanced by the edge's CommandResults. A status never
 * moves backwards (a late DELIVERED does not undo SUCCEEDED).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@bitvelocity/common";
import { deviceType, validateCommand } from "@bitvelocity/devices";
import type { Kysely, Selectable } from "kysely";
import type { Database } from "../platform/database.js";
import { NotFoundError, ValidationError } from "../platform/errors.js";
import type { EventBus } from "../platform/event-bus.js";
import { appendEvent } from "../platform/event-outbox.js";
import type { CommandRequested, CommandResultReceived, CommandState, CommandView, Value } from "../platform/events.js";
import type { FleetRegistry } from "./fleet-registry.js";
import type { FleetTables } from "./tables.js";

const RANK: Record<CommandState, number> = { pending: 0, delivered: 1, succeeded: 2, failed: 2, expired: 2, rejected: 2 };
export const DEFAULT_COMMAND_TTL_S = 60;
export const MAX_COMMAND_TTL_S = 86_400;

export interface NewCommand {
  readonly deviceId: string;
  readonly name: unknown;
  readonly params: unknown;
  readonly ttlS?: unknown;
  readonly requestedBy: string;
}

function isState(s: string): s is CommandState {
  return s in RANK;
}

function toView(row: Selectable<FleetTables["commands"]>): CommandView {
  return {
    id: row.id,
    deviceId: row.device_id,
    edgeId: row.edge_id,
    name: row.name,
    params: JSON.parse(row.params_json) as Record<string, Value>,
    status: isState(row.status) ? row.status : "pending",
    message: row.message,
    result: row.result_json === null ? null : (JSON.parse(row.result_json) as unknown),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
    requestedBy: row.requested_by,
  };
}

function requestOf(c: CommandView): CommandRequested {
  return { commandId: c.id, edgeId: c.edgeId, deviceId: c.deviceId, name: c.name, params: c.params, expiresAtMs: c.expiresAt };
}

export class CommandService {
  private readonly db: Kysely<FleetTables>;
  private readonly unsubscribers: (() => void)[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    db: Database,
    private readonly bus: EventBus,
    private readonly fleet: FleetRegistry,
    private readonly logger: Logger,
    /** With an outbox relay, commandRequested is recorded in the command's own transaction (event-outbox.ts). */
    private readonly relay?: { kick(): void },
  ) {
    this.db = db.withTables<FleetTables>();
  }

  start(sweepEveryMs = 1000): void {
    this.unsubscribers.push(
      // Only the node that holds the edge's stream re-sends; a remote node's copy would duplicate it.
      this.bus.on("edgeConnected", (e) => (this.bus.isRemote(e) ? undefined : this.resendPending(e.edgeId))),
      this.bus.on("commandResultReceived", (r) => this.onResult(r)),
    );
    this.sweepTimer = setInterval(() => {
      this.expireDue().catch((err: unknown) => this.logger.error({ err }, "command expiry sweep failed"));
    }, sweepEveryMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    for (const off of this.unsubscribers.splice(0)) off();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  async create(input: NewCommand): Promise<CommandView> {
    const device = this.fleet.device(input.deviceId);
    if (!device) throw new NotFoundError("device", input.deviceId);
    const type = deviceType(device.type);
    if (!type) throw new ValidationError(`device ${device.id} has unknown type ${device.type}; it accepts no commands`);
    const problems: { path: string; message: string }[] = [];
    if (typeof input.name !== "string" || input.name === "") problems.push({ path: "name", message: "expected a command name" });
    const ttl = input.ttlS ?? DEFAULT_COMMAND_TTL_S;
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_COMMAND_TTL_S) {
      problems.push({ path: "ttl_s", message: `expected an integer from 1 to ${MAX_COMMAND_TTL_S}` });
    }
    if (problems.length > 0) throw new ValidationError("invalid command", problems);
    const checked = validateCommand(type, input.name as string, input.params);
    if ("problems" in checked) throw new ValidationError(`invalid command for ${type.type}`, checked.problems);
    const now = Date.now();
    const row = {
      id: randomUUID(),
      device_id: device.id,
      edge_id: device.edgeId,
      name: checked.command.name,
      params_json: JSON.stringify(checked.params),
      status: "pending",
      message: null,
      result_json: null,
      created_at: now,
      updated_at: now,
      expires_at: now + (ttl as number) * 1000,
      requested_by: input.requestedBy,
    };
    const view = toView(row);
    if (this.relay) {
      // The command and its request commit together: no command without its event, no event without its command.
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto("commands").values(row).execute();
        await appendEvent(tx, "commandRequested", requestOf(view));
      });
      this.bus.emit("commandUpdated", view);
      this.relay.kick();
      return view;
    }
    await this.db.insertInto("commands").values(row).execute();
    this.bus.emit("commandUpdated", view);
    this.request(view);
    return view;
  }

  async get(id: string): Promise<CommandView | undefined> {
    const row = await this.db.selectFrom("commands").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toView(row) : undefined;
  }

  async forDevice(deviceId: string, limit = 100): Promise<CommandView[]> {
    const rows = await this.db
      .selectFrom("commands")
      .selectAll()
      .where("device_id", "=", deviceId)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toView);
  }

  private request(c: CommandView): void {
    this.bus.emit("commandRequested", requestOf(c));
  }

  private async resendPending(edgeId: string): Promise<void> {
    await this.expireDue();
    const rows = await this.db
      .selectFrom("commands")
      .selectAll()
      .where("edge_id", "=", edgeId)
      .where("status", "=", "pending")
      .orderBy("created_at")
      .execute();
    for (const row of rows) this.request(toView(row));
  }

  private async onResult(r: CommandResultReceived): Promise<void> {
    const row = await this.db.selectFrom("commands").selectAll().where("id", "=", r.commandId).executeTakeFirst();
    if (!row || row.edge_id !== r.edgeId) {
      this.logger.debug({ commandId: r.commandId, edgeId: r.edgeId }, "result for an unknown command");
      return;
    }
    const current = isState(row.status) ? row.status : "pending";
    if (RANK[r.status] <= RANK[current]) return;
    await this.update(r.commandId, r.status, r.message || null, r.result === null ? null : JSON.stringify(r.result));
  }

  private async update(id: string, status: CommandState, message: string | null, resultJson: string | null): Promise<void> {
    await this.db
      .updateTable("commands")
      .set({ status, message, result_json: resultJson, updated_at: Date.now() })
      .where("id", "=", id)
      .execute();
    const view = await this.get(id);
    if (view) this.bus.emit("commandUpdated", view);
  }

  /** Marks pending or delivered commands whose time ran out as expired. */
  async expireDue(now = Date.now()): Promise<number> {
    const due = await this.db
      .selectFrom("commands")
      .select("id")
      .where("status", "in", ["pending", "delivered"])
      .where("expires_at", "<=", now)
      .execute();
    for (const { id } of due) await this.update(id, "expired", "expired before the device answered", null);
    return due.length;
  }
}
