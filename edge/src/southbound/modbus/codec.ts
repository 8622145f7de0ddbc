/**
 * Register map conversions, pure: which reads cover a device's points, how registers become
 * metric values (int16 … float32, word order, scale, offset) and how command values become writes.
 */
import {
  decodeNumber,
  encodeNumber,
  MAX_READ_BITS,
  MAX_READ_REGISTERS,
  type MetricValue,
  type MetricValues,
  type ModbusCommandWrite,
  type ModbusRegister,
  type ModbusRequest,
  type ModbusResponse,
  READ_FC,
  wordCount,
} from "@bitvelocity/devices";

const isBitTable = (table: ModbusRegister["table"]): boolean => table === "coil" || table === "discrete";

export interface ReadBlock {
  readonly request: Extract<ModbusRequest, { fc: 1 | 2 | 3 | 4 }>;
  readonly points: readonly ModbusRegister[];
}

/**
 * Groups the points into as few reads as the spec allows: per table, sorted by address, merged
 * while the span stays within one request (125 registers / 2000 bits) and gaps are small.
 */
export function planReads(registers: readonly ModbusRegister[], maxGap = 8): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const table of ["coil", "discrete", "holding", "input"] as const) {
    const points = registers.filter((r) => r.table === table).sort((a, b) => a.address - b.address);
    const limit = isBitTable(table) ? MAX_READ_BITS : MAX_READ_REGISTERS;
    let group: ModbusRegister[] = [];
    let start = 0;
    let end = 0;
    const flush = (): void => {
      if (group.length === 0) return;
      blocks.push({ request: { fc: READ_FC[table] as 1 | 2 | 3 | 4, address: start, count: end - start }, points: group });
      group = [];
    };
    for (const p of points) {
      const pEnd = p.address + (isBitTable(table) ? 1 : wordCount(p.dataType));
      if (group.length > 0 && (p.address - end > maxGap || pEnd - start > limit)) flush();
      if (group.length === 0) [start, end] = [p.address, pEnd];
      group.push(p);
      end = Math.max(end, pEnd);
    }
    flush();
  }
  return blocks;
}

export function decodeBlock(block: ReadBlock, response: ModbusResponse): MetricValues {
  const values: MetricValues = {};
  for (const p of block.points) {
    const at = p.address - block.request.address;
    if (response.kind === "bits") values[p.metric] = response.bits[at] === true;
    else if (response.kind === "registers") {
      const words = response.registers.slice(at, at + wordCount(p.dataType));
      values[p.metric] = p.dataType === "bool" ? words[0] !== 0 : decodeNumber(p, words);
    }
  }
  return values;
}

export { registerMapProblems } from "@bitvelocity/common/edge-config";

/** The write requests that carry out a command, or why not. */
export function commandRequests(
  writes: readonly ModbusCommandWrite[],
  name: string,
  params: Record<string, MetricValue>,
): { requests: ModbusRequest[] } | { problem: string } {
  const mine = writes.filter((w) => w.command === name);
  if (mine.length === 0) return { problem: `command ${name} has no Modbus write mapping` };
  const requests: ModbusRequest[] = [];
  for (const w of mine) {
    const value = w.param !== undefined ? params[w.param] : w.value;
    if (value === undefined) return { problem: `parameter ${w.param} missing` };
    if (w.table === "coil") {
      requests.push({ fc: 5, address: w.address, value: value === true || value === 1 });
      continue;
    }
    if (typeof value !== "number" && typeof value !== "boolean") return { problem: `${name}: a register takes a number` };
    try {
      const words = encodeNumber(w, typeof value === "boolean" ? Number(value) : value);
      requests.push(
        words.length === 1 ? { fc: 6, address: w.address, value: words[0] ?? 0 } : { fc: 16, address: w.address, values: words },
      );
    } catch (err) {
      return { problem: (err as Error).message };
    }
  }
  return { requests };
}
