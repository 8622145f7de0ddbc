/**
 * A simulated Modbus slave: the device type's register map (catalog `protocols.modbus`) filled
 * from its signal model, refreshed on each read; coil and register writes become the model's
 * commands (catalog `modbus.commands`). Addresses between mapped points read as 0, as most meters do.
 */
import { type DeviceType, encodeNumber, type ModbusRequest, type ModbusResponse, type ModbusTable, wordCount } from "@bitvelocity/devices";
import type { DeviceModel } from "../signals/index.js";

const TABLE_OF_FC: Record<number, ModbusTable> = { 1: "coil", 2: "discrete", 3: "holding", 4: "input" };

export class ModbusSlave {
  private readonly tables: Record<ModbusTable, Map<number, number>> = {
    coil: new Map(),
    discrete: new Map(),
    holding: new Map(),
    input: new Map(),
  };
  private readonly limit: Record<ModbusTable, number> = { coil: 0, discrete: 0, holding: 0, input: 0 };
  private lastSampleMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly unitId: number,
    private readonly type: DeviceType,
    private readonly model: DeviceModel,
    private readonly now: () => number = Date.now,
  ) {
    for (const r of type.protocols.modbus?.registers ?? [])
      this.limit[r.table] = Math.max(this.limit[r.table], r.address + wordCount(r.dataType));
    for (const w of type.protocols.modbus?.commands ?? []) this.limit[w.table] = Math.max(this.limit[w.table], w.address + 1);
    this.refresh(true);
  }

  /** Samples the model at most every 100 ms (a meter's measurement cycle). */
  private refresh(force = false): void {
    const nowMs = this.now();
    if (!force && nowMs - this.lastSampleMs < 100) return;
    this.lastSampleMs = nowMs;
    const values = this.model.sample(nowMs);
    for (const r of this.type.protocols.modbus?.registers ?? []) {
      const v = values[r.metric];
      if (v === undefined) continue;
      if (r.table === "coil" || r.table === "discrete") this.tables[r.table].set(r.address, v === true ? 1 : 0);
      else {
        const words = r.dataType === "bool" ? [v === true ? 1 : 0] : encodeNumber(r, Number(v));
        words.forEach((w, i) => {
          this.tables[r.table].set(r.address + i, w);
        });
      }
    }
  }

  handle(req: ModbusRequest): ModbusResponse {
    if (req.fc <= 4) {
      const { address, count } = req as { address: number; count: number };
      const table = TABLE_OF_FC[req.fc] as ModbusTable;
      if (count < 1 || address + count > Math.max(this.limit[table], 1)) return { kind: "exception", code: 2 };
      this.refresh();
      const raw = Array.from({ length: count }, (_, i) => this.tables[table].get(address + i) ?? 0);
      return table === "coil" || table === "discrete"
        ? { kind: "bits", bits: raw.map((v) => v !== 0) }
        : { kind: "registers", registers: raw };
    }
    if (req.fc === 5) return this.writeCoil(req.address, req.value);
    if (req.fc === 15) {
      for (let i = 0; i < req.values.length; i++) {
        const r = this.writeCoil(req.address + i, req.values[i] === true);
        if (r.kind === "exception") return r;
      }
      return { kind: "written" };
    }
    return { kind: "exception", code: 1 }; // no writable registers on a meter
  }

  private writeCoil(address: number, value: boolean): ModbusResponse {
    const mapping = (this.type.protocols.modbus?.commands ?? []).find((w) => w.table === "coil" && w.address === address);
    if (!mapping) return { kind: "exception", code: 2 };
    const params = mapping.param !== undefined ? { [mapping.param]: value } : {};
    if (mapping.param === undefined && !value) return { kind: "written" }; // writing 0 to a trigger coil does nothing
    const outcome = this.model.apply(mapping.command, params);
    if (!outcome.ok) return { kind: "exception", code: 4 };
    this.refresh(true);
    return { kind: "written" };
  }
}
