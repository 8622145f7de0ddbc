/**
 * Modbus application data units, both ends (master requests and slave responses), pure.
 * Spec: Modbus Application Protocol V1.1b3 (function codes 1-6, 15, 16, exceptions §7),
 * Modbus over Serial Line V1.02 §2.5.1.2 (RTU framing, CRC-16 poly 0xA001, low byte first),
 * Modbus Messaging on TCP/IP V1.0b §3.1.3 (MBAP header).
 */

export type ModbusTable = "coil" | "discrete" | "holding" | "input";

export const FC = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
} as const;

export const READ_FC: Record<ModbusTable, number> = { coil: 1, discrete: 2, holding: 3, input: 4 };

/** Spec limits per request (Application Protocol §6.1-6.4). */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;

export type ModbusRequest =
  | { readonly fc: 1 | 2 | 3 | 4; readonly address: number; readonly count: number }
  | { readonly fc: 5; readonly address: number; readonly value: boolean }
  | { readonly fc: 6; readonly address: number; readonly value: number }
  | { readonly fc: 15; readonly address: number; readonly values: readonly boolean[] }
  | { readonly fc: 16; readonly address: number; readonly values: readonly number[] };

export type ModbusResponse =
  | { readonly kind: "bits"; readonly bits: boolean[] }
  | { readonly kind: "registers"; readonly registers: number[] }
  | { readonly kind: "written" }
  | { readonly kind: "exception"; readonly code: number };

export const EXCEPTION_NAMES: Record<number, string> = {
  1: "illegal function",
  2: "illegal data address",
  3: "illegal data value",
  4: "server device failure",
  5: "acknowledge",
  6: "server device busy",
  10: "gateway path unavailable",
  11: "gateway target failed to respond",
};

export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function packBits(values: readonly boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return out;
}

function unpackBits(bytes: Uint8Array, count: number): boolean[] {
  return Array.from({ length: count }, (_, i) => (((bytes[i >> 3] ?? 0) >> (i & 7)) & 1) === 1);
}

export function encodeRequest(req: ModbusRequest): Buffer {
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const b = Buffer.alloc(5);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.count, 3);
      return b;
    }
    case 5:
      return Buffer.from([5, req.address >> 8, req.address & 0xff, req.value ? 0xff : 0, 0]);
    case 6: {
      const b = Buffer.alloc(5);
      b.writeUInt8(6, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.value & 0xffff, 3);
      return b;
    }
    case 15: {
      const bits = packBits(req.values);
      const head = Buffer.alloc(6);
      head.writeUInt8(15, 0);
      head.writeUInt16BE(req.address, 1);
      head.writeUInt16BE(req.values.length, 3);
      head.writeUInt8(bits.length, 5);
      return Buffer.concat([head, bits]);
    }
    case 16: {
      const b = Buffer.alloc(6 + req.values.length * 2);
      b.writeUInt8(16, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.values.length, 3);
      b.writeUInt8(req.values.length * 2, 5);
      req.values.forEach((v, i) => {
        b.writeUInt16BE(v & 0xffff, 6 + i * 2);
      });
      return b;
    }
  }
}

/** Parses a response PDU against the request that asked for it; throws a RangeError when malformed. */
export function decodeResponse(req: ModbusRequest, pdu: Uint8Array): ModbusResponse {
  const fc = pdu[0];
  if (fc === (req.fc | 0x80)) {
    if (pdu.length !== 2) throw new RangeError(`exception response of ${pdu.length} bytes`);
    return { kind: "exception", code: pdu[1] ?? 0 };
  }
  if (fc !== req.fc) throw new RangeError(`function code ${fc} answers a request with ${req.fc}`);
  const buf = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  if (req.fc === 1 || req.fc === 2) {
    const n = Math.ceil(req.count / 8);
    if (buf.length !== 2 + n || buf[1] !== n) throw new RangeError(`bit response of ${buf.length} bytes for ${req.count} bits`);
    return { kind: "bits", bits: unpackBits(buf.subarray(2), req.count) };
  }
  if (req.fc === 3 || req.fc === 4) {
    if (buf.length !== 2 + req.count * 2 || buf[1] !== req.count * 2) {
      throw new RangeError(`register response of ${buf.length} bytes for ${req.count} registers`);
    }
    return { kind: "registers", registers: Array.from({ length: req.count }, (_, i) => buf.readUInt16BE(2 + i * 2)) };
  }
  if (buf.length !== 5) throw new RangeError(`write response of ${buf.length} bytes`);
  return { kind: "written" };
}

/** The slave side: parses a request PDU; undefined for an unsupported function code or a malformed body. */
export function decodeRequest(pdu: Uint8Array): ModbusRequest | { readonly fc: number; readonly unsupported: true } {
  const buf = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const fc = buf[0] ?? 0;
  const malformed = { fc, unsupported: true } as const;
  if (buf.length < 5) return malformed;
  const address = buf.readUInt16BE(1);
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return buf.length === 5 ? { fc, address, count: buf.readUInt16BE(3) } : malformed;
    case 5:
      return buf.length === 5 ? { fc, address, value: buf[3] === 0xff } : malformed;
    case 6:
      return buf.length === 5 ? { fc, address, value: buf.readUInt16BE(3) } : malformed;
    case 15: {
      const count = buf.readUInt16BE(3);
      if (buf.length !== 6 + Math.ceil(count / 8)) return malformed;
      return { fc, address, values: unpackBits(buf.subarray(6), count) };
    }
    case 16: {
      const count = buf.readUInt16BE(3);
      if (buf.length !== 6 + count * 2) return malformed;
      return { fc, address, values: Array.from({ length: count }, (_, i) => buf.readUInt16BE(6 + i * 2)) };
    }
    default:
      return malformed;
  }
}

/** The slave side: the response PDU for a request. */
export function encodeResponse(req: ModbusRequest, res: ModbusResponse): Buffer {
  if (res.kind === "exception") return Buffer.from([req.fc | 0x80, res.code]);
  if (res.kind === "bits") return Buffer.concat([Buffer.from([req.fc, Math.ceil(res.bits.length / 8)]), packBits(res.bits)]);
  if (res.kind === "registers") {
    const b = Buffer.alloc(2 + res.registers.length * 2);
    b.writeUInt8(req.fc, 0);
    b.writeUInt8(res.registers.length * 2, 1);
    res.registers.forEach((v, i) => {
      b.writeUInt16BE(v & 0xffff, 2 + i * 2);
    });
    return b;
  }
  // Writes echo address and value/quantity (Application Protocol §6.5, 6.6, 6.11, 6.12).
  return encodeRequest(req).subarray(0, 5);
}

/** RTU frame: unit id, PDU, CRC low byte first. */
export function rtuFrame(unitId: number, pdu: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from([unitId]), pdu]);
  const crc = crc16(body);
  return Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]);
}

export type RtuParsed = { ok: true; unitId: number; pdu: Buffer } | { ok: false; reason: "short" | "crc" };

export function parseRtuFrame(frame: Uint8Array): RtuParsed {
  if (frame.length < 4) return { ok: false, reason: "short" };
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const crc = buf.readUInt16LE(buf.length - 2);
  if (crc !== crc16(buf.subarray(0, -2))) return { ok: false, reason: "crc" };
  return { ok: true, unitId: buf[0] ?? 0, pdu: buf.subarray(1, -2) };
}

/** MBAP header + PDU (protocol id 0). */
export function tcpFrame(transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt16BE(transactionId & 0xffff, 0);
  head.writeUInt16BE(0, 2);
  head.writeUInt16BE(pdu.length + 1, 4);
  head.writeUInt8(unitId, 6);
  return Buffer.concat([head, pdu]);
}

/** Splits complete MBAP frames off the front of a stream buffer; `rest` is what is left. */
export function splitTcpFrames(buf: Buffer): {
  frames: { transactionId: number; unitId: number; pdu: Buffer }[];
  rest: Buffer;
  bad: boolean;
} {
  const frames: { transactionId: number; unitId: number; pdu: Buffer }[] = [];
  let at = 0;
  while (buf.length - at >= 7) {
    const len = buf.readUInt16BE(at + 4);
    if (buf.readUInt16BE(at + 2) !== 0 || len < 2 || len > 254) return { frames, rest: Buffer.alloc(0), bad: true };
    if (buf.length - at < 6 + len) break;
    frames.push({ transactionId: buf.readUInt16BE(at), unitId: buf[at + 6] ?? 0, pdu: buf.subarray(at + 7, at + 6 + len) });
    at += 6 + len;
  }
  return { frames, rest: buf.subarray(at), bad: false };
}

/**
 * The RTU inter-frame silence, 3.5 character times (Serial Line §2.5.1.1); a character is 11
 * bits on the wire (start, 8 data, parity or a second stop, stop). Above 19200 baud the spec fixes
 * it at 1.75 ms.
 */
export function interFrameGapMs(baudRate: number, bitsPerChar = 11): number {
  if (baudRate > 19_200) return 1.75;
  return (3.5 * bitsPerChar * 1000) / baudRate;
}

/** Length of the normal response PDU to a request (for framing a response before the line goes quiet). */
export function responsePduLength(req: ModbusRequest): number {
  switch (req.fc) {
    case 1:
    case 2:
      return 2 + Math.ceil(req.count / 8);
    case 3:
    case 4:
      return 2 + req.count * 2;
    default:
      return 5;
  }
}
