/**
 * Validates one MQTT 3.1 / 3.1.1 control packet from a client before aedes sees it, closing the
 * gaps aedes 1.x leaves (invalid UTF-8 and U+0000, protocol level, empty client id with a
 * persistent session, will QoS 3, flag consistency, reserved bits, packet ids, trailing bytes).
 * MQTT 5 is refused at CONNECT (see README "MQTT 5").
 * References are to the MQTT 3.1.1 OASIS standard.
 */

import type { Frame } from "./frame-reader.js";
import { isMqttUtf8 } from "./utf8.js";

// Control packet types [MQTT-2.2.1].
export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const UNSUBSCRIBE = 10;
export const PINGREQ = 12;
export const DISCONNECT = 14;

// CONNACK return codes, Table 3.1.
export const UNACCEPTABLE_PROTOCOL = 1;
export const IDENTIFIER_REJECTED = 2;

export interface ConnectInfo {
  readonly version: 3 | 4;
  readonly clientId: string;
  readonly clean: boolean;
}

export type Verdict =
  | { readonly action: "pass"; readonly connect?: ConnectInfo }
  | { readonly action: "close"; readonly reason: string }
  | { readonly action: "connack"; readonly code: number; readonly reason: string };

export interface CheckOptions {
  readonly maxClientIdLength: number;
  /** Levels of a topic name or filter (`a/b/c` has 3); aedes' matcher routes at most 99. */
  readonly maxTopicLevels: number;
}

class Malformed extends Error {}

class Cursor {
  constructor(
    private readonly b: Buffer,
    public pos: number,
  ) {}
  get left(): number {
    return this.b.length - this.pos;
  }
  u8(): number {
    if (this.left < 1) throw new Malformed("truncated");
    return this.b[this.pos++] as number;
  }
  u16(): number {
    if (this.left < 2) throw new Malformed("truncated");
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  /** A length-prefixed field; returns [start, end) within the packet. */
  field(): [number, number] {
    const n = this.u16();
    if (this.left < n) throw new Malformed("truncated field");
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }
  utf8(what: string): [number, number] {
    const [s, e] = this.field();
    if (!isMqttUtf8(this.b, s, e)) throw new Malformed(`${what} is not a valid MQTT UTF-8 string`);
    return [s, e];
  }
}

const close = (reason: string): Verdict => ({ action: "close", reason });
const PASS: Verdict = { action: "pass" };

/**
 * Required fixed-header flags for each type other than PUBLISH [MQTT-2.2.2-1/2]. MQTT 3.1 had
 * no such rule: its PUBREL, SUBSCRIBE and UNSUBSCRIBE carry QoS 1 and may carry DUP on a retry
 * (3.1 §3.6); those are normalised in place to the 3.1.1 header, which aedes' parser expects.
 */
function flagsOk(f: Frame, version: 3 | 4): boolean {
  if (f.type === PUBLISH) return true;
  const want = f.type === PUBREL || f.type === SUBSCRIBE || f.type === UNSUBSCRIBE ? 2 : 0;
  if (version === 3 && want === 2 && (f.flags & ~0x08) === want) {
    f.bytes[0] = (f.type << 4) | want;
    return true;
  }
  return f.flags === want;
}

function levels(b: Buffer, s: number, e: number): number {
  let n = 1;
  for (let i = s; i < e; i++) if (b[i] === 0x2f) n++;
  return n;
}

/** The reason logged when a topic is too deep; names the setting an operator would raise. */
function tooDeep(n: number, max: number): string {
  return `topic of ${n} levels is over mqtt.limits.max_topic_levels ${max}`;
}

function hasWildcard(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === 0x23 || b[i] === 0x2b) return true;
  return false;
}

/** Topic filter wildcards stand alone in their level; `#` only last [MQTT-4.7.1-2/3]. */
function filterOk(b: Buffer, s: number, e: number): boolean {
  if (e === s) return false; // [MQTT-4.7.3-1]
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c !== 0x23 && c !== 0x2b) continue;
    const alone = (i === s || b[i - 1] === 0x2f) && (i + 1 === e || b[i + 1] === 0x2f);
    if (!alone || (c === 0x23 && i + 1 !== e)) return false;
  }
  return true;
}

export function checkConnect(f: Frame, options: CheckOptions): Verdict {
  const b = f.bytes;
  const c = new Cursor(b, f.bodyStart);
  const [ns, ne] = c.field();
  const name = b.toString("latin1", ns, ne);
  const level = c.u8();
  if (name !== "MQTT" && name !== "MQIsdp") return close(`unknown protocol name`); // [MQTT-3.1.2-1]
  // [MQTT-3.1.2-2]: an unsupported level is answered with 0x01 and the connection closed.
  // MQTT 5 (level 5) lands here too: a 3.1.1 CONNACK 0x01 is what a v5 client expects from a
  // server without v5 (MQTT 5 §3.1.2.2 / Appendix B).
  if (!((name === "MQTT" && level === 4) || (name === "MQIsdp" && level === 3))) {
    return { action: "connack", code: UNACCEPTABLE_PROTOCOL, reason: `unsupported protocol level ${level}` };
  }
  // 3.1.1 fixes the CONNECT header flags and the reserved connect flag to 0 [MQTT-2.2.2-2],
  // [MQTT-3.1.2-3]; MQTT 3.1 did not, and 3.1 clients set them.
  if (level === 4 && f.flags !== 0) return close("reserved flags on CONNECT");
  const flags = c.u8();
  if (level === 4 && flags & 0x01) return close("reserved connect flag set");
  if (level === 3) {
    // Normalised in place for aedes' parser, which applies the 3.1.1 rules to every level.
    b[0] = 0x10;
    b[c.pos - 1] = flags & 0xfe;
  }
  const will = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!will && (willQos !== 0 || willRetain)) return close("will qos/retain without will"); // [MQTT-3.1.2-11/13/15]
  if (willQos === 3) return close("will qos 3"); // [MQTT-3.1.2-14]
  if (hasPassword && !hasUsername) return close("password without username"); // [MQTT-3.1.2-22]
  c.u16(); // keep alive
  const [is, ie] = c.utf8("client id"); // [MQTT-3.1.3-4]
  const clean = (flags & 0x02) !== 0;
  if (will) {
    const [ts, te] = c.utf8("will topic");
    if (te === ts || hasWildcard(b, ts, te)) return close("invalid will topic"); // [MQTT-3.1.2-?] will topic is a topic name
    const n = levels(b, ts, te);
    if (n > options.maxTopicLevels) return close(tooDeep(n, options.maxTopicLevels));
    c.field(); // will message: binary
  }
  if (hasUsername) c.utf8("user name"); // [MQTT-3.1.3-11]
  if (hasPassword) c.field(); // binary data
  if (c.left !== 0) return close("trailing bytes after the CONNECT payload"); // [MQTT-3.1.2-18/20]
  const clientId = b.toString("utf8", is, ie);
  const version = level as 3 | 4;
  if (clientId.length === 0 && (version === 3 || !clean)) {
    return { action: "connack", code: IDENTIFIER_REJECTED, reason: "empty client id" }; // [MQTT-3.1.3-8]
  }
  if (ie - is > options.maxClientIdLength) return { action: "connack", code: IDENTIFIER_REJECTED, reason: "client id too long" };
  return { action: "pass", connect: { version, clientId, clean } };
}

function checkPublish(f: Frame, options: CheckOptions): Verdict {
  const qos = (f.flags >> 1) & 0x03;
  if (qos === 3) return close("publish qos 3"); // [MQTT-3.3.1-4]
  if (qos === 0 && f.flags & 0x08) return close("dup flag on qos 0"); // [MQTT-3.3.1-2]
  const c = new Cursor(f.bytes, f.bodyStart);
  const [ts, te] = c.utf8("topic");
  if (te === ts || hasWildcard(f.bytes, ts, te)) return close("invalid topic name"); // [MQTT-3.3.2-2], [MQTT-4.7.3-1]
  const n = levels(f.bytes, ts, te);
  if (n > options.maxTopicLevels) return close(tooDeep(n, options.maxTopicLevels));
  if (qos > 0 && c.u16() === 0) return close("packet id 0"); // [MQTT-2.3.1-1]
  return PASS;
}

function checkAck(f: Frame): Verdict {
  if (f.bytes.length - f.bodyStart !== 2) return close("acknowledgement of wrong length");
  if (f.bytes.readUInt16BE(f.bodyStart) === 0) return close("packet id 0"); // [MQTT-2.3.1-1]
  return PASS;
}

function checkSubscribe(f: Frame, unsubscribe: boolean, options: CheckOptions): Verdict {
  const c = new Cursor(f.bytes, f.bodyStart);
  if (c.u16() === 0) return close("packet id 0");
  if (c.left === 0) return close("no topic filter"); // [MQTT-3.8.3-3], [MQTT-3.10.3-2]
  while (c.left > 0) {
    const [s, e] = c.utf8("topic filter");
    if (!filterOk(f.bytes, s, e)) return close("invalid topic filter");
    const n = levels(f.bytes, s, e);
    if (n > options.maxTopicLevels) return close(tooDeep(n, options.maxTopicLevels));
    if (!unsubscribe && (c.u8() & 0xfc) !== 0) return close("invalid requested qos"); // [MQTT-3.8.3-4]
  }
  return PASS;
}

/** Checks a packet that follows a successful CONNECT of the given protocol level. */
export function checkPacket(f: Frame, version: 3 | 4, options: CheckOptions): Verdict {
  if (!flagsOk(f, version)) return close(`reserved flags on packet type ${f.type}`);
  try {
    switch (f.type) {
      case CONNECT:
        return close("second CONNECT"); // [MQTT-3.1.0-2]
      case PUBLISH:
        return checkPublish(f, options);
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
        return checkAck(f);
      case SUBSCRIBE:
        return checkSubscribe(f, false, options);
      case UNSUBSCRIBE:
        return checkSubscribe(f, true, options);
      case PINGREQ:
      case DISCONNECT:
        return f.bytes.length === f.bodyStart ? PASS : close("non-empty PINGREQ/DISCONNECT");
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP only flow server → client; 0 and 15 are reserved in 3.1.1.
        return close(`packet type ${f.type} is not allowed from a client`);
    }
  } catch (err) {
    if (err instanceof Malformed) return close(err.message);
    throw err;
  }
}

/** Checks the first packet of a connection [MQTT-3.1.0-1]. */
export function checkFirst(f: Frame, options: CheckOptions): Verdict {
  if (f.type !== CONNECT) return close("first packet is not CONNECT");
  try {
    return checkConnect(f, options);
  } catch (err) {
    if (err instanceof Malformed) return close(err.message);
    throw err;
  }
}
