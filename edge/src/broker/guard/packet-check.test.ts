// The pre-parser's pure parts: UTF-8 rules, framing with the size limit, packet checks.
import { describe, expect, it } from "vitest";
import { parsePayload } from "../conformance/notation.js";
import { FrameReader } from "./frame-reader.js";
import { checkFirst, checkPacket } from "./packet-check.js";
import { isMqttUtf8 } from "./utf8.js";

const frame = (notation: string) => {
  const frames = new FrameReader(1 << 20).push(parsePayload(notation));
  if (typeof frames === "string" || frames.length !== 1) throw new Error(`not one frame: ${notation}`);
  return frames[0] as NonNullable<(typeof frames)[0]>;
};
const opts = { maxClientIdLength: 64, maxTopicLevels: 3 };

describe("isMqttUtf8 [MQTT-1.5.3]", () => {
  it.each([
    ["ascii", "746f706963", true],
    ["2-byte é", "c3a9", true],
    ["4-byte U+2A6D4", "f0aa9b94", true],
    ["U+0000", "00", false],
    ["C0 control U+0001", "01", false],
    ["DEL U+007F", "7f", false],
    ["C1 control U+009F", "c29f", false],
    ["surrogate U+D800", "eda080", false],
    ["overlong NUL", "c080", false],
    ["truncated sequence", "e282", false],
    ["beyond U+10FFFF", "f4908080", false],
    ["lone continuation byte", "80", false],
  ])("%s", (_what, hex, ok) => {
    expect(isMqttUtf8(Buffer.from(hex, "hex"))).toBe(ok);
  });
});

describe("FrameReader", () => {
  it("joins packets split across chunks and splits packets sharing a chunk", () => {
    const r = new FrameReader(1024);
    const bytes = parsePayload("c0 00 30 r7 s3 'a/b' 'hi' d0 00");
    expect(r.push(bytes.subarray(0, 3))).toHaveLength(1);
    const rest = r.push(bytes.subarray(3));
    expect(typeof rest === "string" ? rest : rest.map((f) => f.type)).toEqual([3, 13]);
  });

  it("refuses a packet over the limit from its fixed header alone", () => {
    expect(new FrameReader(100).push(Buffer.from([0x30, 0xe5, 0x00]))).toBe("packet_too_large");
  });

  it("refuses a remaining length of more than 4 bytes [MQTT-2.2.3]", () => {
    expect(new FrameReader(1 << 30).push(parsePayload("30 ff ff ff ff 01"))).toBe("malformed_length");
  });
});

describe("packet checks", () => {
  it("accepts a minimal 3.1.1 and 3.1 CONNECT and reports the session", () => {
    expect(checkFirst(frame("10 r13 s4 'MQTT' 04 02 k10 s1 'p'"), opts)).toEqual({
      action: "pass",
      connect: { version: 4, clientId: "p", clean: true },
    });
    expect(checkFirst(frame("10 r15 s6 'MQIsdp' 03 02 k10 s1 'p'"), opts).action).toBe("pass");
  });

  it.each([
    ["not CONNECT first", "c0 00", "close"],
    ["unknown protocol name", "10 r13 s4 'MQTX' 04 02 k10 s1 'p'", "close"],
    ["reserved connect flag", "10 r13 s4 'MQTT' 04 03 k10 s1 'p'", "close"],
    ["client id too long", `10 r79 s4 'MQTT' 04 02 k10 s67 '${"x".repeat(67)}'`, "connack"],
    ["truncated CONNECT", "10 r6 s4 'MQTT'", "close"],
  ])("first packet: %s → %s", (_what, bytes, action) => {
    expect(checkFirst(frame(bytes), opts).action).toBe(action);
  });

  it.each([
    ["second CONNECT [MQTT-3.1.0-2]", "10 r13 s4 'MQTT' 04 02 k10 s1 'p'"],
    ["PUBLISH QoS 3 [MQTT-3.3.1-4]", "36 r7 s3 'a/b' 'hi'"],
    ["PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]", "38 r7 s3 'a/b' 'hi'"],
    ["PUBLISH with a wildcard topic [MQTT-3.3.2-2]", "30 r7 s3 'a/#' 'hi'"],
    ["PUBLISH with an empty topic [MQTT-4.7.3-1]", "30 r4 s0 'hi'"],
    ["PUBLISH QoS 1 packet id 0 [MQTT-2.3.1-1]", "32 r9 s3 'a/b' m0 'hi'"],
    ["PUBACK of the wrong length", "40 r3 m1 00"],
    ["PUBREL with flags 0 [MQTT-3.6.1-1]", "60 r2 m1"],
    ["SUBSCRIBE without filters [MQTT-3.8.3-3]", "82 r2 m1"],
    ["SUBSCRIBE with reserved QoS bits [MQTT-3-8.3-4]", "82 r8 m1 s3 'a/b' 04"],
    ["SUBSCRIBE with a misplaced # [MQTT-4.7.1-2]", "82 r8 m1 s3 'a#b' 00"],
    ["UNSUBSCRIBE with flags 0", "a0 r7 m1 s3 'a/b'"],
    ["SUBACK from a client", "90 r3 m1 00"],
    ["reserved type 15", "f0 00"],
    ["PINGREQ with a body", "c0 r1 00"],
  ])("closes on %s", (_what, bytes) => {
    expect(checkPacket(frame(bytes), 4, opts).action).toBe("close");
  });

  it.each([
    ["PUBLISH QoS 1", "32 r9 s3 'a/b' m1 'hi'"],
    ["SUBSCRIBE with wildcards", "82 r14 m1 s3 'a/+' 01 s3 'b/#' 02"],
    ["UNSUBSCRIBE", "a2 r7 m1 s3 'a/b'"],
    ["PUBREL", "62 r2 m1"],
    ["DISCONNECT", "e0 00"],
  ])("passes %s", (_what, bytes) => {
    expect(checkPacket(frame(bytes), 4, opts).action).toBe("pass");
  });

  it("closes on a topic or filter deeper than maxTopicLevels and says which limit", () => {
    const publish = checkPacket(frame("30 r9 s7 'a/b/c/d'"), 4, opts);
    expect(publish).toEqual({ action: "close", reason: "topic of 4 levels is over mqtt.limits.max_topic_levels 3" });
    expect(checkPacket(frame("82 r10 m1 s5 'a/b/#' 00"), 4, opts).action).toBe("pass");
    expect(checkPacket(frame("82 r12 m1 s7 'a/b/c/#' 00"), 4, opts).action).toBe("close");
  });

  it("MQTT 3.1: PUBREL, SUBSCRIBE and UNSUBSCRIBE may carry DUP; the header is normalised for aedes", () => {
    const retry = frame("6a r2 m1");
    expect(checkPacket(retry, 3, opts).action).toBe("pass");
    expect(retry.bytes[0]).toBe(0x62);
    expect(checkPacket(frame("6a r2 m1"), 4, opts).action).toBe("close"); // 3.1.1 fixes the flags [MQTT-3.6.1-1]
    expect(checkPacket(frame("8a r8 m1 s3 'a/b' 00"), 3, opts).action).toBe("pass");
    expect(checkPacket(frame("64 r2 m1"), 3, opts).action).toBe("close"); // QoS 2 bits are still wrong
  });
});
