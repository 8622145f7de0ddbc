// Issue 17: four MQTT 3.1 / 3.1.1 behaviours where the edge broker differed from the standard
// (and from Mosquitto 2.0), and three decisions the standard leaves open. Every case runs over
// raw TCP against the edge broker (open policy, as the conformance run uses it) and, as the
// reference that shows the check itself is right, against Mosquitto on 127.0.0.1:1883.
// docs/mqtt-broker-conformance.md explains each case and the fix.
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { silentLogger } from "@bitvelocity/common";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttBroker } from "../../edge/src/broker/broker.js";
import { connectPacket, publishPacket, subscribePacket } from "../../edge/src/broker/conformance/packets.js";
import { Wire } from "../../edge/src/broker/conformance/wire.js";
import { type BrokerLimitsConfig, defaultBrokerLimits } from "../../edge/src/broker/limits.js";
import { openPolicy } from "../../edge/src/broker/policy.js";
import { missingService } from "../e2e/support.js";

interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

type Level = 3 | 4;

const MOSQUITTO: Target = { name: "Mosquitto", host: "127.0.0.1", port: Number(process.env.BV_MOSQUITTO_PORT ?? 1883) };
const WAIT = 400;

function reachable(target: Target): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(target);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function startBroker(limits: Partial<BrokerLimitsConfig> = {}, logger = silentLogger()) {
  const broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink: { append: async () => undefined, deadLetter: async () => undefined } as never,
    registry: new Registry(),
    logger,
    policy: openPolicy,
    limits: { ...defaultBrokerLimits, max_client_id_length: 200, ...limits },
  });
  const port = (await broker.start()).mqtt;
  return { broker, target: { name: "edge broker", host: "127.0.0.1", port } satisfies Target };
}

interface Publish {
  readonly qos: number;
  readonly dup: boolean;
  readonly retain: boolean;
  readonly topic: string;
  readonly id: number | undefined;
  readonly payload: string;
}

function parsePublish(b: Buffer): Publish | undefined {
  if (b[0] === undefined || b[0] >> 4 !== 3) return undefined;
  let pos = 1;
  while ((b[pos++] as number) & 0x80);
  const qos = (b[0] >> 1) & 3;
  const topicLength = b.readUInt16BE(pos);
  const topic = b.toString("utf8", pos + 2, pos + 2 + topicLength);
  pos += 2 + topicLength;
  const id = qos > 0 ? b.readUInt16BE(pos) : undefined;
  if (qos > 0) pos += 2;
  return { qos, dup: (b[0] & 8) !== 0, retain: (b[0] & 1) !== 0, topic, id, payload: b.toString("utf8", pos) };
}

interface Session {
  readonly wire: Wire;
  /** Every PUBLISH that arrives within `ms` (acknowledging QoS 1 unless told not to). */
  publishes(ms: number, ack?: boolean): Promise<Publish[]>;
  /** The next packet of the given type, skipping others. */
  next(type: number, ms?: number): Promise<Buffer>;
  close(): void;
}

interface ConnectOptions {
  readonly clean?: boolean;
  readonly will?: { readonly topic: string; readonly payload: string };
}

/** CONNECT with optional persistent session and will; the CONNACK must accept. */
function connectWithOptions(ver: Level, clientId: string, options: ConnectOptions): Buffer {
  if (options.clean !== false && !options.will) return connectPacket(ver, clientId);
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const flags = (options.clean === false ? 0 : 0x02) | (options.will ? 0x04 : 0);
  const body = Buffer.concat([
    str(ver === 3 ? "MQIsdp" : "MQTT"),
    Buffer.from([ver, flags, 0, 60]),
    str(clientId),
    ...(options.will ? [str(options.will.topic), str(options.will.payload)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

async function session(target: Target, clientId: string, options: ConnectOptions = {}, ver: Level = 4): Promise<Session> {
  const wire = await Wire.open(target.host, target.port, 2000);
  wire.write(connectWithOptions(ver, clientId, options));
  const connack = await wire.readPacket(2000);
  expect(connack[0], `${target.name}: CONNACK`).toBe(0x20);
  expect(connack[3], `${target.name}: CONNACK code`).toBe(0);
  return {
    wire,
    async publishes(ms, ack = true) {
      const out: Publish[] = [];
      const deadline = Date.now() + ms;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return out;
        let packet: Buffer;
        try {
          packet = await wire.readPacket(left);
        } catch {
          return out;
        }
        const p = parsePublish(packet);
        if (!p) continue;
        out.push(p);
        if (ack && p.qos === 1 && p.id !== undefined) wire.write(Buffer.from([0x40, 2, p.id >> 8, p.id & 0xff]));
        if (ack && p.qos === 2 && p.id !== undefined) wire.write(Buffer.from([0x50, 2, p.id >> 8, p.id & 0xff]));
      }
    },
    async next(type, ms = 2000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const packet = await wire.readPacket(Math.max(1, deadline - Date.now()));
        if ((packet[0] as number) >> 4 === type) return packet;
      }
    },
    close: () => wire.destroy(),
  };
}

async function subscribe(s: Session, filter: string, qos: number, ver: Level = 4): Promise<void> {
  s.wire.write(subscribePacket(ver, filter, qos, 1));
  const suback = await s.next(9);
  expect(suback[4], `SUBACK for ${filter}`).toBe(qos);
}

/** Publishes (QoS 0 or 1) and waits for the PUBACK, so the message is in the broker. */
async function publish(target: Target, topic: string, payload: string, qos: 0 | 1, retain: boolean): Promise<void> {
  const s = await session(target, `bvt-pub-${randomUUID()}`);
  s.wire.write(publishPacket(4, topic, Buffer.from(payload), qos, retain, 1));
  if (qos === 1) await s.next(4);
  s.wire.write(Buffer.from([0xe0, 0]));
  await s.wire.closed;
}

const clearRetained = (target: Target, topic: string) => publish(target, topic, "", 0, true);

let ours: Awaited<ReturnType<typeof startBroker>>;
let targets: Target[];

beforeAll(async () => {
  ours = await startBroker();
  const skip = missingService(`Mosquitto on ${MOSQUITTO.host}:${MOSQUITTO.port}`, await reachable(MOSQUITTO));
  targets = skip ? [ours.target] : [ours.target, MOSQUITTO];
});

afterAll(async () => {
  await ours?.broker.stop();
});

/** Runs the same check against each broker; a failure names the broker. */
async function onEach(check: (target: Target) => Promise<void>): Promise<void> {
  for (const target of targets) await check(target);
}

describe("retained messages on wildcard subscriptions are delivered at min(published, granted) QoS [MQTT-3.8.4-6]", () => {
  for (const [pattern, suffix] of [
    ["#", "w/x"],
    ["+", "x"],
    ["+/x", "w/x"],
  ]) {
    it(`filter <prefix>/${pattern} granted QoS 0 gets a retained QoS 1 message at QoS 0`, async () => {
      await onEach(async (target) => {
        const prefix = `bvt/${randomUUID()}`;
        const topic = `${prefix}/${suffix}`;
        await publish(target, topic, "r1", 1, true);
        const sub = await session(target, `bvt-sub-${randomUUID()}`);
        await subscribe(sub, `${prefix}/${pattern}`, 0);
        const got = await sub.publishes(WAIT);
        sub.close();
        await clearRetained(target, topic);
        expect(
          got.map((p) => [p.topic, p.qos, p.retain]),
          target.name,
        ).toEqual([[topic, 0, true]]);
      });
    });
  }

  it("a subscription granted QoS 1 still gets QoS 1 (the downgrade is the minimum, not always 0)", async () => {
    await onEach(async (target) => {
      const prefix = `bvt/${randomUUID()}`;
      await publish(target, `${prefix}/x`, "r1", 1, true);
      const sub = await session(target, `bvt-sub-${randomUUID()}`);
      await subscribe(sub, `${prefix}/+`, 1);
      const got = await sub.publishes(WAIT);
      sub.close();
      await clearRetained(target, `${prefix}/x`);
      expect(
        got.map((p) => p.qos),
        target.name,
      ).toEqual([1]);
    });
  });
});

describe("topic matching of §4.7, retained and live, including empty levels", () => {
  // [filter suffix, topic suffix, matches]; both are appended to a unique first level.
  const pairs: [string, string, boolean][] = [
    ["topic/+", "topic/", true], // '+' matches an empty last level
    ["+/x", "/x", true], // an empty level in the middle
    ["a/+/c", "a//c", true],
    ["+/+", "/", true],
    ["a/#", "a", true], // '#' matches its parent level [MQTT-4.7.1-2]
    ["a/#", "a/", true],
    ["a/+", "a", false],
    ["+", "a/b", false],
    ["a/b", "a/b/", false],
  ];
  for (const [filter, topic, match] of pairs) {
    it(`${filter} ${match ? "matches" : "does not match"} ${JSON.stringify(topic)}`, async () => {
      await onEach(async (target) => {
        const root = `bvt-${randomUUID()}`;
        const full = `${root}/${topic}`;
        // Retained: stored first, looked up on SUBSCRIBE.
        await publish(target, full, "retained", 1, true);
        const late = await session(target, `bvt-sub-${randomUUID()}`);
        await subscribe(late, `${root}/${filter}`, 1);
        const retained = await late.publishes(WAIT);
        // Live: published while subscribed.
        await publish(target, full, "live", 1, false);
        const live = await late.publishes(WAIT);
        late.close();
        await clearRetained(target, full);
        const expected = match ? ["retained"] : [];
        expect(
          retained.map((p) => p.payload),
          `${target.name} retained ${filter} vs ${topic}`,
        ).toEqual(expected);
        expect(
          live.map((p) => p.payload),
          `${target.name} live ${filter} vs ${topic}`,
        ).toEqual(match ? ["live"] : []);
      });
    });
  }
});

describe("re-delivery to a persistent session after reconnect", () => {
  it("carries DUP = 1 and the same packet id [MQTT-3.3.1-1]", async () => {
    await onEach(async (target) => {
      const topic = `bvt/${randomUUID()}/dup`;
      const clientId = `bvt-dup-${randomUUID()}`;
      const first = await session(target, clientId, { clean: false });
      await subscribe(first, topic, 1);
      await publish(target, topic, "once", 1, false);
      const [sent] = await first.publishes(WAIT, false); // not acknowledged
      expect(sent, `${target.name}: first delivery`).toMatchObject({ payload: "once", qos: 1, dup: false });
      first.close();
      await first.wire.closed;
      const again = await session(target, clientId, { clean: false });
      const resent = await again.publishes(WAIT);
      again.close();
      // Leave no session behind on the shared Mosquitto.
      (await session(target, clientId)).close();
      expect(resent, target.name).toEqual([{ ...sent, dup: true }]);
    });
  });
});

describe("MQTT 3.1 clients", () => {
  it("a retried PUBREL with DUP set is answered with PUBCOMP", async () => {
    await onEach(async (target) => {
      const s = await session(target, `bvt-v31-${randomUUID()}`.slice(0, 23), {}, 3);
      s.wire.write(publishPacket(3, `bvt/${randomUUID()}/q2`, Buffer.from("x"), 2, false, 9));
      await s.next(5); // PUBREC
      s.wire.write(Buffer.from([0x62, 2, 0, 9])); // PUBREL (3.1: QoS 1 in the header)
      await s.next(7); // PUBCOMP
      s.wire.write(Buffer.from([0x6a, 2, 0, 9])); // the retry: DUP + QoS 1
      const pubcomp = await s.next(7);
      expect([...pubcomp], target.name).toEqual([0x70, 2, 0, 9]);
      s.close();
    });
  });
});

describe("decisions (docs/mqtt-broker-conformance.md)", () => {
  it("session takeover does not publish the replaced connection's will", async () => {
    await onEach(async (target) => {
      const willTopic = `bvt/${randomUUID()}/will`;
      const clientId = `bvt-takeover-${randomUUID()}`;
      const watcher = await session(target, `bvt-watch-${randomUUID()}`);
      await subscribe(watcher, willTopic, 0);
      const old = await session(target, clientId, { clean: false, will: { topic: willTopic, payload: "offline" } });
      const replacement = await session(target, clientId, { clean: false });
      await old.wire.closed; // taken over
      const wills = await watcher.publishes(WAIT);
      replacement.close();
      watcher.close();
      (await session(target, clientId)).close();
      expect(
        wills.map((p) => p.payload),
        target.name,
      ).toEqual([]);
    });
  });

  it("a connection that is not taken over but lost still publishes its will", async () => {
    const willTopic = `bvt/${randomUUID()}/will`;
    const watcher = await session(ours.target, `bvt-watch-${randomUUID()}`);
    await subscribe(watcher, willTopic, 0);
    const lost = await session(ours.target, `bvt-lost-${randomUUID()}`, { will: { topic: willTopic, payload: "offline" } });
    lost.close();
    const wills = await watcher.publishes(WAIT);
    watcher.close();
    expect(wills.map((p) => p.payload)).toEqual(["offline"]);
  });

  it("a topic deeper than mqtt.limits.max_topic_levels closes the connection and logs why", async () => {
    const lines: { msg: string; reason?: string }[] = [];
    const logger = silentLogger();
    const capture = Object.assign(Object.create(logger), {
      info: (obj: { reason?: string }, msg: string) => lines.push({ msg, reason: obj.reason }),
      child: () => capture,
    });
    const small = await startBroker({ max_topic_levels: 10 }, capture);
    try {
      const ok = await session(small.target, "bvt-levels-ok");
      ok.wire.write(publishPacket(4, Array(10).fill("l").join("/"), Buffer.from("x"), 1, false, 1));
      await ok.next(4); // 10 levels: accepted
      ok.wire.write(publishPacket(4, Array(11).fill("l").join("/"), Buffer.from("x"), 1, false, 2));
      expect(await ok.wire.closesWithin(2000)).toBe(true);
      const sub = await session(small.target, "bvt-levels-sub");
      sub.wire.write(subscribePacket(4, `${Array(10).fill("l").join("/")}/#`, 0, 1));
      expect(await sub.wire.closesWithin(2000)).toBe(true);
      expect(lines.filter((l) => l.reason?.includes("max_topic_levels 10"))).toHaveLength(2);
    } finally {
      await small.broker.stop();
    }
  });

  it("the default limit admits any topic aedes can route and refuses deeper ones with a reason", async () => {
    expect(defaultBrokerLimits.max_topic_levels).toBeLessThan(100);
    const s = await session(ours.target, "bvt-levels-100");
    s.wire.write(publishPacket(4, Array(100).fill("l").join("/"), Buffer.from("x"), 1, false, 1));
    expect(await s.wire.closesWithin(2000)).toBe(true);
  });

  // [MQTT-4.3.3-2]: until the PUBREL, a PUBLISH with the same packet id is acknowledged with PUBREC
  // and not delivered again. Mosquitto 2.0 keeps the second message instead; we follow the standard.
  it("a QoS 2 packet id reused before PUBREL keeps the first message, once", async () => {
    {
      const target = ours.target;
      const topic = `bvt/${randomUUID()}/q2`;
      const sub = await session(target, `bvt-q2-sub-${randomUUID()}`);
      await subscribe(sub, topic, 2);
      const pub = await session(target, `bvt-q2-pub-${randomUUID()}`);
      pub.wire.write(publishPacket(4, topic, Buffer.from("first"), 2, false, 7));
      await pub.next(5);
      pub.wire.write(publishPacket(4, topic, Buffer.from("second"), 2, false, 7));
      await pub.next(5);
      pub.wire.write(Buffer.from([0x62, 2, 0, 7]));
      await pub.next(7);
      const got = await sub.publishes(WAIT);
      pub.close();
      sub.close();
      expect(
        got.map((p) => p.payload),
        target.name,
      ).toEqual(["first"]);
    }
  });
});
