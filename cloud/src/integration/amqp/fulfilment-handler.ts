/**
 * What one fulfilment message does (no AMQP here; fulfilment-consumer.ts owns the channel):
 *
 * 1. Invalid (no message id, not JSON, not the schema) → dead-letter with the reason.
 * 2. Already processed or already held (by message id) → acknowledged, nothing else happens.
 * 3. Otherwise commerce's shipment command decides: `applied` and `stale` (the order already
 *    reached the stage: a re-delivery or an older update) are recorded as processed; `early` (a stage
 *    before it is missing: out of order) is held in `fulfilment_parked` and applied as soon as its
 *    predecessor is, or with the gap after `reorderWaitMs` (sweep); `rejected` → dead-letter.
 *
 * The processed record is written after commerce's write, so a crash between the two re-delivers
 * the message and commerce answers `stale`: applied once either way. Messages are handled one at a
 * time (the consumer serialises them), so a held update and its predecessor never race.
 */
import type { Kysely } from "kysely";
import type { Database } from "../../platform/database.js";
import type { FulfilmentOrders, FulfilmentUpdate } from "../ports.js";
import { parseShipmentUpdate, type ShipmentUpdateMessage } from "./shipment-update.js";

export type FulfilmentTables = {
  fulfilment_processed: { message_id: string; order_id: string; stage: string; outcome: string; processed_at: number };
  fulfilment_parked: { message_id: string; order_id: string; body_json: string; parked_at: number };
};

export type Decision = { action: "ack"; outcome: "applied" | "stale" | "duplicate" | "parked" } | { action: "dead-letter"; reason: string };

export class FulfilmentHandler {
  private readonly db: Kysely<FulfilmentTables>;

  constructor(
    database: Database,
    private readonly orders: FulfilmentOrders,
    private readonly reorderWaitMs: number,
  ) {
    this.db = database.withTables<FulfilmentTables>();
  }

  async handle(content: Buffer, messageId: string | undefined): Promise<Decision> {
    const parsed = parseShipmentUpdate(content, messageId);
    if (!parsed.ok) return { action: "dead-letter", reason: parsed.reason };
    const u = parsed.update;
    if (await this.seen(u.id)) return { action: "ack", outcome: "duplicate" };
    const outcome = await this.orders.record(updateOf(u));
    switch (outcome.status) {
      case "rejected":
        return { action: "dead-letter", reason: `order ${u.orderId}: ${outcome.reason}` };
      case "early":
        await this.db
          .insertInto("fulfilment_parked")
          .values({ message_id: u.id, order_id: u.orderId, body_json: JSON.stringify(u), parked_at: Date.now() })
          .onConflict((oc) => oc.column("message_id").doNothing())
          .execute();
        return { action: "ack", outcome: "parked" };
      default:
        await this.done(u, outcome.status);
        if (outcome.status === "applied") await this.release(u.orderId, false);
        return { action: "ack", outcome: outcome.status };
    }
  }

  /** Applies held updates that waited longer than reorderWaitMs (with the gap); returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    const old = await this.db
      .selectFrom("fulfilment_parked")
      .select("order_id")
      .distinct()
      .where("parked_at", "<=", now - this.reorderWaitMs)
      .execute();
    let n = 0;
    for (const r of old) n += await this.release(r.order_id, true);
    return n;
  }

  async parked(): Promise<number> {
    const row = await this.db
      .selectFrom("fulfilment_parked")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  private async seen(id: string): Promise<boolean> {
    const processed = await this.db.selectFrom("fulfilment_processed").select("message_id").where("message_id", "=", id).executeTakeFirst();
    if (processed) return true;
    const held = await this.db.selectFrom("fulfilment_parked").select("message_id").where("message_id", "=", id).executeTakeFirst();
    return held !== undefined;
  }

  /**
   * Applies the order's held updates that are now next, earliest stage first, until one is still
   * early (or, with `allowGap`, all of them). Returns how many left the hold.
   */
  private async release(orderId: string, allowGap: boolean): Promise<number> {
    let released = 0;
    for (;;) {
      const rows = await this.db.selectFrom("fulfilment_parked").selectAll().where("order_id", "=", orderId).execute();
      const held = rows
        .map((r) => JSON.parse(r.body_json) as ShipmentUpdateMessage)
        .sort((a, b) => STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage]);
      let progressed = false;
      for (const u of held) {
        const outcome = await this.orders.record({ ...updateOf(u), allowGap });
        if (outcome.status === "early") break;
        // A held update whose order went away (rejected) is recorded as processed with that outcome: it was acknowledged when held.
        await this.db.transaction().execute(async (tx) => {
          await tx.deleteFrom("fulfilment_parked").where("message_id", "=", u.id).execute();
          await tx
            .insertInto("fulfilment_processed")
            .values({ message_id: u.id, order_id: u.orderId, stage: u.stage, outcome: outcome.status, processed_at: Date.now() })
            .onConflict((oc) => oc.column("message_id").doNothing())
            .execute();
        });
        released++;
        progressed = true;
      }
      if (!progressed || allowGap) return released;
    }
  }

  private async done(u: ShipmentUpdateMessage, outcome: string): Promise<void> {
    await this.db
      .insertInto("fulfilment_processed")
      .values({ message_id: u.id, order_id: u.orderId, stage: u.stage, outcome, processed_at: Date.now() })
      .onConflict((oc) => oc.column("message_id").doNothing())
      .execute();
  }
}

const STAGE_ORDER = { picked: 1, shipped: 2, delivered: 3 } as const;

function updateOf(u: ShipmentUpdateMessage): FulfilmentUpdate {
  return { orderId: u.orderId, stage: u.stage, messageId: u.id, detail: u.detail, at: u.at };
}
