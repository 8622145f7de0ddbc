/**
 * What the link stores besides readings (DESIGN.md §3 promises 4, 6, 7): gap records, dead
 * letters and each edge boot's clock anchor, in the relational database. Every write is
 * idempotent on a natural key, so a control message replayed after a reconnect is stored once.
 */
import type { Database } from "../platform/database.js";
import type { DeadLetterReceived, GapRecorded } from "../platform/events.js";

type LinkTables = {
  edge_gaps: {
    edge_id: string;
    lane: string;
    first_seq: number;
    last_seq: number;
    count: number;
    from_ms: number;
    to_ms: number;
    reason: string;
    received_at: number;
  };
  dead_letters: {
    edge_id: string;
    source: string;
    ref: number;
    device_id: string;
    seq: number | null;
    topic: string | null;
    reason: string;
    payload_preview: string;
    time_ms: number;
    received_at: number;
  };
  edge_boots: { edge_id: string; boot_id: string; anchor_ms: number; first_seen: number };
};

export type NewDeadLetter = Omit<DeadLetterReceived, "edgeId"> & { readonly ref: number };

const MAX_LIST = 1000;

export class LinkRecords {
  private readonly db;
  /** (edgeId, bootId) → anchor; boots are few, and an anchor never changes once stored. */
  private readonly anchors = new Map<string, number>();

  constructor(db: Database) {
    this.db = db.withTables<LinkTables>();
  }

  /** Stores a gap record; false if it was already stored. */
  async recordGap(gap: GapRecorded): Promise<boolean> {
    const result = await this.db
      .insertInto("edge_gaps")
      .values({
        edge_id: gap.edgeId,
        lane: gap.lane,
        first_seq: gap.firstSeq,
        last_seq: gap.lastSeq,
        count: gap.count,
        from_ms: gap.fromMs,
        to_ms: gap.toMs,
        reason: gap.reason,
        received_at: gap.receivedAtMs,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Stores dead letters; returns those that were new. */
  async recordDeadLetters(edgeId: string, letters: readonly NewDeadLetter[]): Promise<NewDeadLetter[]> {
    const fresh: NewDeadLetter[] = [];
    for (const d of letters) {
      const result = await this.db
        .insertInto("dead_letters")
        .values({
          edge_id: edgeId,
          source: d.source,
          ref: d.ref,
          device_id: d.deviceId,
          seq: d.seq,
          topic: d.topic,
          reason: d.reason,
          payload_preview: d.payloadPreview,
          time_ms: d.timeMs,
          received_at: d.receivedAtMs,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) fresh.push(d);
    }
    return fresh;
  }

  /** Remembers a boot's anchor (wall time at uptime 0); the first measurement stands. */
  async saveBoot(edgeId: string, bootId: string, anchorMs: number, now: number): Promise<void> {
    await this.db
      .insertInto("edge_boots")
      .values({ edge_id: edgeId, boot_id: bootId, anchor_ms: Math.round(anchorMs), first_seen: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
    this.anchors.delete(`${edgeId}\u0000${bootId}`);
  }

  async bootAnchor(edgeId: string, bootId: string): Promise<number | undefined> {
    const key = `${edgeId}\u0000${bootId}`;
    const cached = this.anchors.get(key);
    if (cached !== undefined) return cached;
    const row = await this.db
      .selectFrom("edge_boots")
      .select("anchor_ms")
      .where("edge_id", "=", edgeId)
      .where("boot_id", "=", bootId)
      .executeTakeFirst();
    if (!row) return undefined;
    const anchor = Number(row.anchor_ms);
    this.anchors.set(key, anchor);
    return anchor;
  }

  async gaps(edgeId: string, limit = 100): Promise<GapRecorded[]> {
    const rows = await this.db
      .selectFrom("edge_gaps")
      .selectAll()
      .where("edge_id", "=", edgeId)
      .orderBy("received_at", "desc")
      .orderBy("first_seq", "desc")
      .limit(Math.min(MAX_LIST, Math.max(1, limit)))
      .execute();
    return rows.map((r) => ({
      edgeId: r.edge_id,
      lane: r.lane,
      firstSeq: Number(r.first_seq),
      lastSeq: Number(r.last_seq),
      count: Number(r.count),
      fromMs: Number(r.from_ms),
      toMs: Number(r.to_ms),
      reason: r.reason,
      receivedAtMs: Number(r.received_at),
    }));
  }

  async deadLetters(edgeId: string, limit = 100): Promise<DeadLetterReceived[]> {
    const rows = await this.db
      .selectFrom("dead_letters")
      .selectAll()
      .where("edge_id", "=", edgeId)
      .orderBy("received_at", "desc")
      .orderBy("ref", "desc")
      .limit(Math.min(MAX_LIST, Math.max(1, limit)))
      .execute();
    return rows.map((r) => ({
      edgeId: r.edge_id,
      source: r.source === "cloud" ? "cloud" : "edge",
      deviceId: r.device_id,
      seq: r.seq === null ? null : Number(r.seq),
      topic: r.topic,
      reason: r.reason,
      payloadPreview: r.payload_preview,
      timeMs: Number(r.time_ms),
      receivedAtMs: Number(r.received_at),
    }));
  }
}
