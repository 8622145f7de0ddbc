// The aedes 1.x gaps the pre-parser closes (issue 8), each on the wire against the real broker:
// the bytes a client sends and what it must get back (a CONNACK code, a close, a single message).
import { connect, type Socket } from "node:net";
import { silentLogger } from "@bitvelocity/common";
import mqtt from "mqtt";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReadingSink } from "../pipeline/sink.js";
import { MqttBroker } from "./broker.js";
import { parsePayload } from "./conformance/notation.js";
import { openPolicy } from "./policy.js";

let broker: MqttBroker;
let port: number;

beforeAll(async () => {
  const sink = { append: async () => undefined, deadLetter: async () => undefined } as unknown as ReadingSink;
  broker = new MqttBroker({
    host: "127.0.0.1",
    port: 0,
    wsPort: null,
    devices: [],
    sink,
    registry: new Registry(),
    logger: silentLogger(),
    policy: openPolicy,
  });
  port = (await broker.start()).mqtt;
});

afterAll(async () => {
  await broker.stop();
});

/** Sends the bytes (vector notation), returns what came back and whether the broker closed. */
async function exchange(notation: string, waitMs = 400): Promise<{ reply: string; closed: boolean }> {
  const s: Socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  let closed = false;
  s.on("data", (d: Buffer) => chunks.push(d));
  s.on("error", () => undefined);
  s.on("close", () => {
    closed = true;
  });
  await new Promise((r) => s.once("connect", r));
  s.write(parsePayload(notation));
  await new Promise((r) => setTimeout(r, waitMs));
  s.destroy();
  return { reply: Buffer.concat(chunks).toString("hex"), closed };
}

const CONNECT_P = "10 r13 s4 'MQTT' 04 02 k10 s1 'p'";

describe("gaps of aedes 1.x closed by the pre-parser", () => {
  it.each([
    ["U+0000 in the client id", "10 r17 s4 'MQTT' 04 02 k10 s5 746F700000"],
    ["a surrogate in the client id", "10 r17 s4 'MQTT' 04 02 k10 s5 746FEDA080"],
    ["U+0000 in the user name", "10 r20 s4 'MQTT' 04 82 k10 s1 'p' s5 746F700000"],
    ["ill-formed UTF-8 in the will topic", "10 r23 s4 'MQTT' 04 06 k10 s1 'p' s5 746FEDA080 s1 'p'"],
    ["will QoS 3", "10 r19 s4 'MQTT' 04 1E k10 s1 'p' s1 'p' s1 'p'"],
    ["a password without a user name", "10 r16 s4 'MQTT' 04 42 k10 s1 'p' s1 'p'"],
    ["a user name beyond the flags", "10 r16 s4 'MQTT' 04 02 k10 s1 'p' s1 'p'"],
  ])("closes the connection on %s, without a CONNACK", async (_what, bytes) => {
    expect(await exchange(bytes)).toEqual({ reply: "", closed: true });
  });

  it("closes the connection on U+0000 in a PUBLISH topic", async () => {
    const r = await exchange(`${CONNECT_P} 30 r14 s5 746F700000 'payload'`);
    expect(r.closed).toBe(true);
    // Refused as soon as it is read, which can be before aedes has written its CONNACK.
    expect(["", "20020000"]).toContain(r.reply);
  });

  it.each([
    ["level 3 with the MQTT name", "10 r13 s4 'MQTT' 03 02 k10 s1 'p'"],
    ["MQTT 5", "10 r14 s4 'MQTT' 05 02 k10 00 s1 'p'"],
  ])("answers an unsupported protocol level (%s) with CONNACK 0x01 and closes [MQTT-3.1.2-2]", async (_what, bytes) => {
    expect(await exchange(bytes)).toEqual({ reply: "20020001", closed: true });
  });

  it("answers an empty client id with clean session 0 with CONNACK 0x02 [MQTT-3.1.3-8]", async () => {
    expect(await exchange("10 r12 s4 'MQTT' 04 00 k10 s0")).toEqual({ reply: "20020002", closed: true });
  });

  it("delivers a retained message published just before a SUBSCRIBE on the same connection once, as retained", async () => {
    const r = await exchange(`10 r15 s4 'MQTT' 04 02 k10 s3 'ret' 31 r7 s3 'r/t' 'hi' 82 r8 m1 s3 'r/t' 00`);
    // CONNACK, SUBACK, then one PUBLISH with retain 1 — not a live copy (retain 0) as well.
    expect(r.reply).toBe("20020000" + "9003000100" + "31070003722f746869");
  });

  it("reports session present for a persistent session without subscriptions [MQTT-3.2.2-2]", async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const first = await mqtt.connectAsync(url, { clientId: "persist", clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    await first.endAsync();
    const again = mqtt.connect(url, { clientId: "persist", clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    expect(await new Promise((r) => again.once("connect", (ack) => r(ack.sessionPresent)))).toBe(true);
    await again.endAsync();
  });
});
