/**
 * The domain event bus on Kafka (bus.engine: kafka): the outbox relay publishes events to the
 * events topic (acks=all), and every cloud node consumes all of them (a consumer group of its
 * own per node: broadcast, not load sharing) and delivers them on its local bus as remote
 * events. Delivery is at least once; events are de-duplicated by id per node.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@bitvelocity/common";
import { type Consumer, Partitioners, type Producer } from "kafkajs";
import type { EventBus } from "./event-bus.js";
import type { OutboxEvent } from "./event-outbox.js";
import type { CloudEvents } from "./events.js";
import { createKafka, type KafkaSettings } from "./kafka.js";

/** Ids remembered for de-duplication (a relay re-delivers at most a batch or two). */
const SEEN_LIMIT = 10_000;

export class KafkaEventTransport {
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly seen = new Set<string>();

  constructor(
    private readonly settings: KafkaSettings & { eventsTopic: string },
    private readonly bus: EventBus,
    private readonly logger: Logger,
    nodeId = randomUUID(),
  ) {
    const kafka = createKafka(settings, logger);
    this.producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
    this.consumer = kafka.consumer({
      groupId: `${settings.groupId}-events-${nodeId}`,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: true,
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    // A node joining later needs no history: events are facts for the nodes running now.
    await this.consumer.subscribe({ topic: this.settings.eventsTopic, fromBeginning: false });
    const joined = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    // A new group starts at the topic's end, resolved when it first fetches; an event published between
    // the join and that fetch would be skipped. start() returns after the first fetch, so every event
    // published after it reaches this node.
    const fetched = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        let event: OutboxEvent;
        try {
          event = JSON.parse(message.value?.toString() ?? "") as OutboxEvent;
          if (typeof event.id !== "string" || typeof event.name !== "string") throw new Error("not an event");
        } catch (err) {
          this.logger.debug({ err, offset: message.offset }, "skipping an unreadable event");
          return;
        }
        if (this.seen.has(event.id)) return;
        this.seen.add(event.id);
        if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value as string);
        this.bus.emitRemote(event.name as keyof CloudEvents, event.payload as never);
      },
    });
    await joined;
    await fetched;
  }

  async publish(events: readonly OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.producer.send({
      topic: this.settings.eventsTopic,
      acks: -1,
      messages: events.map((e) => ({ key: e.name, value: JSON.stringify(e) })),
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}
