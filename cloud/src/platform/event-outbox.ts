/**
 * The transactional outbox for domain events (DESIGN.md §5): a domain writes an event into
 * `event_outbox` in the same database transaction as the state change it reports, so an event
 * exists if and only if its change was committed. The relay then hands pending events to a
 * transport, oldest first, and marks them published:
 * - in-process (the default): delivered on this node's EventBus;
 * - Kafka (kafka-events.ts): published to the events topic, delivered to every cloud node.
 * Delivery is at least once: a relay that dies between handing over and marking re-delivers
 * after restart; several relays on one shared database may both deliver a row. Consumers that
 * must not act twice de-duplicate by event id (KafkaEventTransport does).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@bitvelocity/common";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./database.js";
import type { EventBus } from "./event-bus.js";
import type { CloudEvents } from "./events.js";
import { Precompiled } from "./precompiled.js";

export type OutboxTables = {
  event_outbox: { id: string; name: string; payload_json: string; created_at: number; published_at: number | null };
};

export interface OutboxEvent {
  readonly id: string;
  readonly name: keyof CloudEvents;
  readonly payload: unknown;
}

export interface EventTransport {
  /** Resolves once every event is handed over (for Kafka: acknowledged with acks=all). */
  publish(events: readonly OutboxEvent[]): Promise<void>;
}

let counter = 0;

/** Time-ordered ids: events recorded in the same millisecond by one process keep their order. */
function eventId(now: number): string {
  counter = (counter + 1) % 1_000_000;
  return `${String(now).padStart(15, "0")}-${String(counter).padStart(6, "0")}-${randomUUID().slice(0, 8)}`;
}

/** Records an event inside the caller's transaction (any Kysely handle or transaction on cloud.db). */
export async function appendEvent<K extends keyof CloudEvents>(
  // biome-ignore lint/suspicious/noExplicitAny: any domain's handle or transaction; only event_outbox is touched.
  tx: Kysely<any> | Transaction<any>,
  name: K,
  payload: CloudEvents[K],
): Promise<void> {
  const now = Date.now();
  await INSERT_EVENT.execute(tx, [eventId(now), name, JSON.stringify(payload), now]);
}

/** The outbox insert, written out (a checkout records six events): see precompiled.ts. */
const INSERT_EVENT = new Precompiled(
  'insert into "event_outbox" ("id", "name", "payload_json", "created_at", "published_at") values (?, ?, ?, ?, null)',
);

/** Delivers events on the local bus (one node). */
export class InProcessTransport implements EventTransport {
  constructor(private readonly bus: EventBus) {}

  async publish(events: readonly OutboxEvent[]): Promise<void> {
    for (const e of events) this.bus.emit(e.name, e.payload as never);
  }
}

export class OutboxRelay {
  private readonly db: Kysely<OutboxTables>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    db: Database,
    private readonly transport: EventTransport,
    private readonly logger: Logger,
    private readonly options: { pollMs?: number; batch?: number; retainMs?: number } = {},
  ) {
    this.db = db.withTables<OutboxTables>();
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.options.pollMs ?? 500);
    this.timer.unref();
    this.kick();
  }

  /**
   * Deletes events published more than `retainMs` (default 10 min) ago: a delivered row is only
   * kept to look at recent traffic, and an outbox that only grows makes every relay query and
   * every backup slower. Pending rows are never touched. Runs with the relay's drain, at most
   * once per minute.
   */
  async prune(now = Date.now()): Promise<number> {
    const result = await this.db
      .deleteFrom("event_outbox")
      .where("published_at", "is not", null)
      .where("published_at", "<", now - (this.options.retainMs ?? 600_000))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private scheduled = false;
  private stopped = false;

  /**
   * Relays soon (after a domain committed an event) instead of at the next poll: at the end of this
   * turn of the event loop, so the commits of one turn are relayed by one drain (one select, one
   * publish, one update) rather than one drain each.
   */
  kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drainNow();
    });
  }

  private drainNow(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.warn({ err }, "event relay failed; retrying at the next poll"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.drainNow();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Pending events, oldest first (for tests and /metrics). */
  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom("event_outbox")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("published_at", "is", null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  private lastPrune = 0;

  private async drain(): Promise<void> {
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      await this.prune();
    }
    for (;;) {
      const rows = await this.db
        .selectFrom("event_outbox")
        .selectAll()
        .where("published_at", "is", null)
        .orderBy("created_at")
        .orderBy("id")
        .limit(this.options.batch ?? 100)
        .execute();
      if (rows.length === 0) return;
      const events: OutboxEvent[] = [];
      for (const r of rows) {
        try {
          events.push({ id: r.id, name: r.name as keyof CloudEvents, payload: JSON.parse(r.payload_json) as unknown });
        } catch (err) {
          // A row we cannot read can never be delivered: mark it so it does not block the rest.
          this.logger.error({ err, id: r.id }, "unreadable outbox event skipped");
        }
      }
      await this.transport.publish(events);
      await this.db
        .updateTable("event_outbox")
        .set({ published_at: Date.now() })
        .where(
          "id",
          "in",
          rows.map((r) => r.id),
        )
        .execute();
      // A short batch was everything pending when it was read; a commit since then kicked the relay
      // again (`again`), so there is no need for one more select to find nothing.
      if (rows.length < (this.options.batch ?? 100)) return;
    }
  }
}
