import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@bitvelocity/common";
import { kafkaCluster } from "@bitvelocity/common/test-services";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "./database.js";
import { EventBus } from "./event-bus.js";
import { appendEvent, type EventTransport, InProcessTransport, type OutboxEvent, OutboxRelay } from "./event-outbox.js";
import type { CommandRequested } from "./events.js";
import { KafkaEventTransport } from "./kafka-events.js";

const request = (id: string): CommandRequested => ({
  commandId: id,
  edgeId: "edge-1",
  deviceId: "valve-1",
  name: "open",
  params: {},
  expiresAtMs: 1,
});

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let db: Database;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bv-outbox-"));
  db = await openDatabase(dir, []);
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("transactional outbox relay", () => {
  it("delivers an event only when its transaction commits, once, and marks it published", async () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on("commandRequested", (e) => {
      seen.push(e.commandId);
    });
    const relay = new OutboxRelay(db, new InProcessTransport(bus), silentLogger(), { pollMs: 20 });
    relay.start();
    await expect(
      db.transaction().execute(async (tx) => {
        await appendEvent(tx, "commandRequested", request("rolled-back"));
        throw new Error("the state change failed");
      }),
    ).rejects.toThrow("the state change failed");
    await db.transaction().execute((tx) => appendEvent(tx, "commandRequested", request("committed")));
    relay.kick();
    await until("delivery", () => seen.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(["committed"]);
    expect(await relay.pending()).toBe(0);
    await relay.stop();
  });

  it("prunes delivered events after their retention and never a pending one", async () => {
    const bus = new EventBus();
    const relay = new OutboxRelay(db, new InProcessTransport(bus), silentLogger(), { pollMs: 20, retainMs: 1_000 });
    const count = async () =>
      Number(
        (
          await db
            .withTables<{ event_outbox: { id: string } }>()
            .selectFrom("event_outbox")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    for (const id of ["p1", "p2"]) await appendEvent(db, "commandRequested", request(id));
    relay.start();
    await until("delivery", async () => (await relay.pending()) === 0);
    await relay.stop();
    await appendEvent(db, "commandRequested", request("still-pending"));
    expect(await relay.prune(Date.now())).toBe(0);
    expect(await relay.prune(Date.now() + 2_000)).toBe(before + 2);
    expect(await count()).toBe(1);
    expect(await relay.pending()).toBe(1);
  });

  it("delivers, after a restart, what was recorded while no relay ran, oldest first", async () => {
    for (const id of ["a", "b", "c"]) await appendEvent(db, "commandRequested", request(id));
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on("commandRequested", (e) => {
      seen.push(e.commandId);
    });
    const relay = new OutboxRelay(db, new InProcessTransport(bus), silentLogger(), { pollMs: 20 });
    relay.start();
    await until("delivery", () => seen.length === 3);
    expect(seen).toEqual(["a", "b", "c"]);
    await relay.stop();
  });

  it("keeps events pending while the transport fails, and delivers them when it recovers", async () => {
    let down = true;
    const delivered: OutboxEvent[] = [];
    const transport: EventTransport = {
      async publish(events) {
        if (down) throw new Error("broker unreachable");
        delivered.push(...events);
      },
    };
    const relay = new OutboxRelay(db, transport, silentLogger(), { pollMs: 20 });
    relay.start();
    await appendEvent(db, "commandRequested", request("x"));
    relay.kick();
    await new Promise((r) => setTimeout(r, 150));
    expect(await relay.pending()).toBe(1);
    down = false;
    await until("delivery after recovery", () => delivered.length === 1);
    expect(delivered[0]).toMatchObject({ name: "commandRequested", payload: request("x") });
    await until("marked", async () => (await relay.pending()) === 0);
    await relay.stop();
  });
});

const kafka = await kafkaCluster();
const skip = kafka.available ? "" : ` (skipped: ${kafka.reason})`;
afterAll(async () => {
  if (kafka.available) await kafka.stop();
});

describe.skipIf(!kafka.available)(`event bus on Kafka${skip}`, () => {
  it("delivers each outbox event to every node once, as a remote event", async () => {
    if (!kafka.available) return;
    const settings = {
      brokers: kafka.brokers,
      clientId: "bv-test",
      telemetryTopic: "unused",
      groupId: `bv-${Date.now()}`,
      sessionTimeoutMs: 6000,
      eventsTopic: `bv.events.${Date.now()}`,
    };
    const nodes = [new EventBus(), new EventBus()].map((bus) => {
      const seen: { id: string; remote: boolean }[] = [];
      bus.on("commandRequested", (e) => {
        seen.push({ id: e.commandId, remote: bus.isRemote(e) });
      });
      return { bus, seen, transport: new KafkaEventTransport(settings, bus, silentLogger()) };
    });
    await Promise.all(nodes.map((n) => n.transport.start()));
    try {
      const relay = new OutboxRelay(db, nodes[0]!.transport, silentLogger(), { pollMs: 20 });
      relay.start();
      await appendEvent(db, "commandRequested", request("k1"));
      relay.kick();
      // A re-delivery of the same event (a relay that died before marking) is dropped by id.
      const first = { id: "dup-1", name: "commandRequested" as const, payload: request("k2") };
      await nodes[1]!.transport.publish([first]);
      await nodes[1]!.transport.publish([first]);
      await until("both nodes got both events", () => nodes.every((n) => n.seen.length >= 2), 30_000);
      await new Promise((r) => setTimeout(r, 300));
      for (const n of nodes) {
        expect(n.seen.map((s) => s.id).sort()).toEqual(["k1", "k2"]);
        expect(n.seen.every((s) => s.remote)).toBe(true);
      }
      await relay.stop();
    } finally {
      await Promise.all(nodes.map((n) => n.transport.stop()));
    }
  }, 60_000);
});
