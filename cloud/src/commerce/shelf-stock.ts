/**
 * Live shelf stock: a read model fed by the telemetry events on the bus (readingsCommitted), never
 * by telemetry code. A smart shelf's `item_count` is its stock of the shelf-item SKU it is bound
 * to. Low stock uses hysteresis: the shelf turns low when the count falls to `lowThreshold` or
 * below, and only turns back when it reaches `highThreshold`; each turn to low creates one
 * replenishment draft and emits lowStockDetected (in the same transaction, through the outbox).
 * Readings are applied one at a time, in arrival order, and an older reading (a replay) never
 * overwrites a newer count ("latest value is by timestamp").
 */
import { randomUUID } from "node:crypto";
import type { ReplenishmentDraft, Shelf, ShelfBody } from "@bitvelocity/api";
import type { Logger } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import { ValidationError } from "../platform/errors.js";
import { appendEvent, type OutboxRelay } from "../platform/event-outbox.js";
import type { ReadingsCommitted } from "../platform/events.js";
import type { CommerceTables } from "./tables.js";

type ShelfRow = CommerceTables["commerce_shelves"];

export const SHELF_DEVICE_TYPE = "smart-shelf";

function shelfOf(r: ShelfRow): Shelf {
  return {
    deviceId: r.device_id,
    siteId: r.site_id,
    sku: r.sku,
    itemCount: r.item_count,
    lowThreshold: r.low_threshold,
    highThreshold: r.high_threshold,
    low: r.low === 1,
    updatedAt: Number(r.updated_at),
  };
}

export class ShelfStock {
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(shelf: Shelf) => void>();

  constructor(
    private readonly db: Kysely<CommerceTables>,
    private readonly relay: Pick<OutboxRelay, "kick">,
    private readonly defaults: { low: number; high: number },
    private readonly logger: Logger,
  ) {}

  /** Called for every readingsCommitted; queues the shelf readings in it. */
  onReadings(e: ReadingsCommitted): Promise<void> {
    const counts = e.readings.flatMap((r) => {
      const v = r.values.item_count;
      return r.deviceType === SHELF_DEVICE_TYPE && typeof v === "number" && Number.isFinite(v)
        ? [{ deviceId: r.deviceId, count: Math.max(0, Math.round(v)), ts: r.ts }]
        : [];
    });
    if (counts.length === 0) return Promise.resolve();
    const job = this.queue.then(async () => {
      for (const c of counts) await this.apply(e.siteId, c.deviceId, c.count, c.ts);
    });
    this.queue = job.catch((err: unknown) => this.logger.error({ err }, "shelf stock update failed"));
    return job;
  }

  onChange(listener: (shelf: Shelf) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async shelves(): Promise<Shelf[]> {
    return (await this.db.selectFrom("commerce_shelves").selectAll().orderBy("site_id").orderBy("device_id").execute()).map(shelfOf);
  }

  async drafts(): Promise<ReplenishmentDraft[]> {
    const rows = await this.db.selectFrom("commerce_drafts").selectAll().orderBy("created_at", "desc").limit(500).execute();
    return rows.map((r) => ({
      id: r.id,
      siteId: r.site_id,
      shelfDeviceId: r.shelf_device_id,
      sku: r.sku,
      quantity: r.quantity,
      status: r.status,
      createdAt: Number(r.created_at),
    }));
  }

  /** Binds a shelf to a shelf-item SKU with its thresholds (creates the shelf if no reading came yet). */
  async bind(deviceId: string, body: ShelfBody, kindOf: (sku: string) => Promise<string | undefined>): Promise<Shelf> {
    const kind = await kindOf(body.sku);
    if (kind !== "shelf-item") {
      throw new ValidationError("invalid shelf binding", [
        { path: "sku", message: kind ? `${body.sku} is a ${kind}, not a shelf-item` : `unknown SKU ${body.sku}` },
      ]);
    }
    const now = Date.now();
    const changes = { site_id: body.siteId, sku: body.sku, low_threshold: body.lowThreshold, high_threshold: body.highThreshold };
    await this.db
      .insertInto("commerce_shelves")
      .values({ device_id: deviceId, ...changes, item_count: null, low: 0, updated_at: now })
      .onConflict((oc) => oc.column("device_id").doUpdateSet(changes))
      .execute();
    const row = await this.db.selectFrom("commerce_shelves").selectAll().where("device_id", "=", deviceId).executeTakeFirstOrThrow();
    const shelf = shelfOf(row);
    this.notify(shelf);
    return shelf;
  }

  private async apply(siteId: string, deviceId: string, count: number, ts: number): Promise<void> {
    let turnedLow = false;
    const shelf = await this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("commerce_shelves").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
      if (!row) {
        const fresh: ShelfRow = {
          device_id: deviceId,
          site_id: siteId,
          sku: null,
          item_count: count,
          low_threshold: this.defaults.low,
          high_threshold: this.defaults.high,
          low: 0,
          updated_at: ts,
        };
        await tx.insertInto("commerce_shelves").values(fresh).execute();
        return fresh;
      }
      if (row.item_count !== null && ts < Number(row.updated_at)) return undefined;
      let low = row.low;
      if (row.low === 0 && row.sku !== null && count <= row.low_threshold) {
        low = 1;
        turnedLow = true;
        const draftOrderId = `draft_${randomUUID()}`;
        const quantity = Math.max(1, row.high_threshold - count);
        await tx
          .insertInto("commerce_drafts")
          .values({
            id: draftOrderId,
            site_id: row.site_id,
            shelf_device_id: deviceId,
            sku: row.sku,
            quantity,
            status: "draft",
            created_at: ts,
          })
          .execute();
        await appendEvent(tx, "lowStockDetected", {
          siteId: row.site_id,
          shelfDeviceId: deviceId,
          sku: row.sku,
          count,
          threshold: row.low_threshold,
          draftOrderId,
          at: ts,
        });
      } else if (row.low === 1 && count >= row.high_threshold) {
        low = 0;
      }
      const next: ShelfRow = { ...row, site_id: siteId, item_count: count, low, updated_at: ts };
      await tx
        .updateTable("commerce_shelves")
        .set({ site_id: siteId, item_count: count, low, updated_at: ts })
        .where("device_id", "=", deviceId)
        .execute();
      return next;
    });
    if (turnedLow) this.relay.kick();
    if (shelf) this.notify(shelfOf(shelf));
  }

  private notify(shelf: Shelf): void {
    for (const l of this.listeners) {
      try {
        l(shelf);
      } catch (err) {
        this.logger.warn({ err }, "shelf listener failed");
      }
    }
  }
}
