/** The few packets the runner builds itself (the vectors' implicit CONNECT, the helper's publish). */
import { varint } from "./notation.js";

export type ProtocolLevel = 3 | 4 | 5;

function str(s: string | Buffer): Buffer {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(first: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Clean session, keepalive 60, no will, no credentials [MQTT-3.1]. */
export function connectPacket(ver: ProtocolLevel, clientId: string): Buffer {
  const name = ver === 3 ? "MQIsdp" : "MQTT";
  const props = ver === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return packet(0x10, str(name), Buffer.from([ver, 0x02]), u16(60), props, str(clientId));
}

export function publishPacket(ver: ProtocolLevel, topic: string, payload: Buffer, qos: number, retain: boolean, id: number): Buffer {
  const first = 0x30 | (qos << 1) | (retain ? 1 : 0);
  const props = ver === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return packet(first, str(topic), qos > 0 ? u16(id) : Buffer.alloc(0), props, payload);
}

export function pubrelPacket(ver: ProtocolLevel, id: number): Buffer {
  return packet(0x62, u16(id), ver === 5 ? Buffer.from([0]) : Buffer.alloc(0));
}

export function subscribePacket(ver: ProtocolLevel, topic: string, qos: number, id: number): Buffer {
  const props = ver === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return packet(0x82, u16(id), props, str(topic), Buffer.from([qos]));
}

export function unsubscribePacket(ver: ProtocolLevel, topic: string, id: number): Buffer {
  const props = ver === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return packet(0xa2, u16(id), props, str(topic));
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);
export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** The return code of a CONNACK (MQTT 3.x byte 3, MQTT 5 reason code at the same place). */
export function connackCode(bytes: Buffer): number | undefined {
  if (bytes[0] !== 0x20 || bytes.length < 4) return undefined;
  return bytes[3];
}
