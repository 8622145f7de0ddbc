/**
 * The warehouse simulator (`bv-sim warehouse`): a warehouse system on RabbitMQ. It consumes the
 * cloud's confirmed orders (its own durable queue bound to `commerce.order-confirmed` on the
 * cloud's topic exchange) and, per order, publishes the shipment updates picked, shipped and
 * delivered to the fulfilment exchange: persistent, with a unique message id (`wh-<order>-<stage>`,
 * the same on a re-run so the cloud can de-duplicate) and the order id. An order message is
 * acknowledged only after the broker confirmed all of its updates, so a crash or a broker restart
 * re-sends rather than loses (docs/event-contracts/fulfilment.md).
 *
 * Faults (each a share 0..1 of orders): `duplicates` sends every update twice, `outOfOrder` sends
 * them delivered → picked → shipped, `garbage` sends a message first that is not JSON or does not
 * match the schema. The connection is re-opened with back-off after the broker went away.
 */
import { randomUUID } from "node:crypto";
import { Backoff, sleep } from "@bitvelocity/common";
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";

export const SHIPMENT_STAGES = ["picked", "shipped", "delivered"] as const;
export type ShipmentStage = (typeof SHIPMENT_STAGES)[number];

export interface WarehouseFaults {
  duplicates: number;
  outOfOrder: number;
  garbage: number;
}

export interface WarehouseOptions {
  readonly url: string;
  /** The cloud's domain-event exchange (topic). */
  readonly eventsExchange: string;
  /** The simulator's own durable queue of confirmed orders. */
  readonly ordersQueue: string;
  /** Where shipment updates go (topic exchange, routing key `fulfilment.<stage>`). */
  readonly fulfilmentExchange: string;
  /** The cloud's fulfilment queue, declared here too so no update is unroutable before the cloud starts. */
  readonly fulfilmentQueue: string;
  /** Pause between one order's updates. */
  readonly stepMs?: number;
  readonly faults?: Partial<WarehouseFaults>;
  readonly random?: () => number;
  /** Called when the connection drops (for logs). */
  readonly onDisconnect?: (err: unknown) => void;
}

export interface WarehouseStats {
  orders: number;
  published: number;
  garbage: number;
  reconnects: number;
}

const ORDER_CONFIRMED = "commerce.order-confirmed";

/** The fulfilment queue's topology, declared identically by the cloud and the simulator. */
export async function declareFulfilment(channel: ConfirmChannel, exchange: string, queue: string): Promise<void> {
  await channel.assertExchange(exchange, "topic", { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, "fulfilment.#");
}

export class WarehouseSimulator {
  readonly stats: WarehouseStats = { orders: 0, published: 0, garbage: 0, reconnects: 0 };
  private faults: WarehouseFaults;
  private readonly random: () => number;
  private connection: ChannelModel | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private ready: { resolve: () => void; promise: Promise<void> };

  constructor(private readonly options: WarehouseOptions) {
    this.faults = { duplicates: 0, outOfOrder: 0, garbage: 0, ...options.faults };
    this.random = options.random ?? Math.random;
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.ready = { resolve, promise };
  }

  setFaults(faults: Partial<WarehouseFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Starts consuming; resolves once the first connection is up and the queues are declared. */
  async start(): Promise<void> {
    this.loop ??= this.run();
    await this.ready.promise;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.connection?.close().catch(() => undefined); // already closed by the broker: nothing to release
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!this.stopping.signal.aborted) {
      try {
        const { gone: closed } = await this.connect();
        backoff.reset();
        this.ready.resolve();
        const err = await closed;
        if (this.stopping.signal.aborted) return;
        this.options.onDisconnect?.(err);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        this.options.onDisconnect?.(err);
      }
      this.stats.reconnects++;
      await sleep(backoff.next(), this.stopping.signal);
    }
  }

  /** Connects, declares and consumes; resolves the returned promise when the connection is gone. */
  private async connect(): Promise<{ gone: Promise<unknown> }> {
    const o = this.options;
    const connection = await amqp.connect(o.url, { timeout: 5000 });
    this.connection = connection;
    const gone = new Promise<unknown>((resolve) => {
      connection.on("close", resolve);
      connection.on("error", () => undefined); // "close" follows and ends this connection
    });
    try {
      const channel = await connection.createConfirmChannel();
      channel.on("error", () => undefined); // a channel error closes the connection below
      channel.on("close", () => void connection.close().catch(() => undefined));
      await channel.assertExchange(o.eventsExchange, "topic", { durable: true });
      await channel.assertQueue(o.ordersQueue, { durable: true });
      await channel.bindQueue(o.ordersQueue, o.eventsExchange, ORDER_CONFIRMED);
      await declareFulfilment(channel, o.fulfilmentExchange, o.fulfilmentQueue);
      await channel.prefetch(1);
      await channel.consume(o.ordersQueue, (m) => {
        if (m) void this.onOrder(channel, m);
      });
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
    return { gone };
  }

  private async onOrder(channel: ConfirmChannel, m: ConsumeMessage): Promise<void> {
    let orderId: string | undefined;
    try {
      const body = JSON.parse(m.content.toString()) as { payload?: { orderId?: unknown } };
      if (typeof body.payload?.orderId === "string") orderId = body.payload.orderId;
    } catch {
      // not an order event: dropped below
    }
    try {
      if (!orderId) {
        channel.nack(m, false, false);
        return;
      }
      await this.ship(channel, orderId);
      channel.ack(m);
      this.stats.orders++;
    } catch {
      // The channel failed mid-order: the order message was not acknowledged, the broker delivers it again.
    }
  }

  private async ship(channel: ConfirmChannel, orderId: string): Promise<void> {
    const f = this.faults;
    const stages: ShipmentStage[] = this.random() < f.outOfOrder ? ["delivered", "picked", "shipped"] : [...SHIPMENT_STAGES];
    const copies = this.random() < f.duplicates ? 2 : 1;
    if (this.random() < f.garbage) await this.garbage(channel, orderId);
    for (const [i, stage] of stages.entries()) {
      if (i > 0 && this.options.stepMs) await sleep(this.options.stepMs, this.stopping.signal);
      const body = { id: `wh-${orderId}-${stage}`, orderId, stage, at: Date.now(), detail: detailOf(stage, orderId) };
      for (let c = 0; c < copies; c++) await this.publish(channel, `fulfilment.${stage}`, body.id, Buffer.from(JSON.stringify(body)));
      this.stats.published += copies;
    }
  }

  /** One message the cloud must dead-letter: alternately not JSON and JSON that breaks the schema. */
  private async garbage(channel: ConfirmChannel, orderId: string): Promise<void> {
    const id = `wh-garbage-${randomUUID()}`;
    const content =
      this.stats.garbage % 2 === 0
        ? Buffer.from("{not json")
        : Buffer.from(JSON.stringify({ id, orderId, stage: "teleported", at: "yesterday" }));
    await this.publish(channel, "fulfilment.garbage", id, content);
    this.stats.garbage++;
  }

  private publish(channel: ConfirmChannel, routingKey: string, messageId: string, content: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      channel.publish(
        this.options.fulfilmentExchange,
        routingKey,
        content,
        {
          persistent: true,
          messageId,
          contentType: "application/json",
          appId: "bv-sim-warehouse",
          timestamp: Math.floor(Date.now() / 1000),
        },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  }
}

function detailOf(stage: ShipmentStage, orderId: string): string {
  if (stage === "picked") return "picked at warehouse-1";
  if (stage === "shipped") return `handed to carrier, parcel ${orderId.slice(0, 8)}`;
  return "delivered to the site";
}
