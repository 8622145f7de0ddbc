/**
 * Modbus register values, pure: int16, uint16, int32, uint32, float32 over one or two 16-bit
 * registers (bytes big-endian per Application Protocol §4.2; word order per device), with scale
 * and offset: value = raw × scale + offset. Shared by the edge's master and the simulator's slaves.
 */
import type { ModbusDataType, ModbusRegister } from "./types.js";

export function wordCount(dataType: ModbusDataType): number {
  return dataType === "int32" || dataType === "uint32" || dataType === "float32" ? 2 : 1;
}

/** Raw registers (high word first unless wordOrder is little; bytes are big-endian per Modbus) → value. */
export function decodeNumber(reg: Pick<ModbusRegister, "dataType" | "wordOrder" | "scale" | "offset">, words: readonly number[]): number {
  const b = Buffer.alloc(4);
  const [w0 = 0, w1 = 0] = reg.wordOrder === "little" ? [words[1], words[0]] : [words[0], words[1]];
  b.writeUInt16BE(w0 & 0xffff, 0);
  b.writeUInt16BE(w1 & 0xffff, 2);
  let raw: number;
  switch (reg.dataType) {
    case "int16":
      raw = b.readInt16BE(0);
      break;
    case "uint16":
    case "bool":
      raw = b.readUInt16BE(0);
      break;
    case "int32":
      raw = b.readInt32BE(0);
      break;
    case "uint32":
      raw = b.readUInt32BE(0);
      break;
    case "float32":
      raw = b.readFloatBE(0);
      break;
  }
  const value = raw * (reg.scale ?? 1) + (reg.offset ?? 0);
  // float32 carries about 7 significant digits (230.1 reads back as 230.0999908…); scaling by
  // 0.01 etc. leaves binary noise. Keep what the register can express.
  return Number(value.toPrecision(reg.dataType === "float32" ? 7 : 12));
}

/** Value → registers; throws a RangeError when the raw value does not fit the data type. */
export function encodeNumber(reg: Pick<ModbusRegister, "dataType" | "wordOrder" | "scale" | "offset">, value: number): number[] {
  const raw = (value - (reg.offset ?? 0)) / (reg.scale ?? 1);
  const b = Buffer.alloc(4);
  const int = Math.round(raw);
  const fits = (min: number, max: number): void => {
    if (int < min || int > max) throw new RangeError(`${value} does not fit ${reg.dataType} after scale and offset`);
  };
  switch (reg.dataType) {
    case "int16":
      fits(-0x8000, 0x7fff);
      b.writeInt16BE(int, 0);
      return [b.readUInt16BE(0)];
    case "uint16":
    case "bool":
      fits(0, 0xffff);
      return [int];
    case "int32":
      fits(-0x80000000, 0x7fffffff);
      b.writeInt32BE(int, 0);
      break;
    case "uint32":
      fits(0, 0xffffffff);
      b.writeUInt32BE(int, 0);
      break;
    case "float32":
      b.writeFloatBE(raw, 0);
      break;
  }
  const words = [b.readUInt16BE(0), b.readUInt16BE(2)];
  return reg.wordOrder === "little" ? [words[1] ?? 0, words[0] ?? 0] : words;
}
