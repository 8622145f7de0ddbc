/**
 * Several simulated slaves on one line, with fault injection: a silent slave never answers
 * (a dead meter), CRC noise corrupts a share of answers (a noisy RS-485 line).
 */
import { decodeRequest, deviceType, encodeResponse } from "@bitvelocity/devices";
import { Rng } from "../prng.js";
import { createModel } from "../signals/index.js";
import { ModbusSlave } from "./slave.js";

export interface SlaveBusFaults {
  /** Units that do not answer. */
  silent: Set<number>;
  /** Share of answers (0..1) sent with a broken CRC (RTU) . */
  crcNoise: number;
}

export interface SlaveBusStats {
  requests: number;
  answered: number;
  corrupted: number;
  ignored: number;
}

export class SlaveBus {
  readonly faults: SlaveBusFaults = { silent: new Set(), crcNoise: 0 };
  readonly stats: SlaveBusStats = { requests: 0, answered: 0, corrupted: 0, ignored: 0 };
  private readonly slaves = new Map<number, ModbusSlave>();
  private readonly rng: Rng;

  constructor(seed = 1) {
    this.rng = Rng.from(seed, "modbus-bus");
  }

  /** Adds a slave of a catalog type with a Modbus map (e.g. power-meter) at `unitId`. */
  add(unitId: number, type = "power-meter", seed = unitId): ModbusSlave {
    const t = deviceType(type);
    if (!t?.protocols.modbus) throw new Error(`device type ${type} has no Modbus register map`);
    const slave = new ModbusSlave(unitId, t, createModel(type, Rng.from(seed, `${type}-${unitId}`), 1));
    this.slaves.set(unitId, slave);
    return slave;
  }

  /** The answer PDU for a request PDU to `unitId`, or undefined when nobody answers. */
  answer(unitId: number, pdu: Uint8Array): Buffer | undefined {
    this.stats.requests++;
    const slave = this.slaves.get(unitId);
    if (!slave || this.faults.silent.has(unitId)) {
      this.stats.ignored++;
      return undefined;
    }
    const req = decodeRequest(pdu);
    if ("unsupported" in req) return Buffer.from([(req.fc | 0x80) & 0xff, 1]); // illegal function
    this.stats.answered++;
    return encodeResponse(req, slave.handle(req));
  }

  /** Whether to corrupt this answer (decided per answer, seeded). */
  corruptNext(): boolean {
    const hit = this.faults.crcNoise > 0 && this.rng.next() < this.faults.crcNoise;
    if (hit) this.stats.corrupted++;
    return hit;
  }
}
