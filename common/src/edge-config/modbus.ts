/** Config of the Modbus connectors: one bus (a serial port, or a TCP peer) with its slaves. */
import { type DeviceType, deviceType, type ModbusRegister, wordCount } from "@bitvelocity/devices";
import { z } from "zod";
import { connectorDeviceFields, connectorIdSchema, uniqueDeviceIds } from "./connector-device.js";

const registerSchema = z
  .object({
    metric: z.string().min(1),
    table: z.enum(["holding", "input", "coil", "discrete"]),
    address: z.number().int().min(0).max(65_535),
    data_type: z.enum(["int16", "uint16", "int32", "uint32", "float32", "bool"]),
    word_order: z.enum(["big", "little"]).default("big"),
    scale: z.number().default(1),
    offset: z.number().default(0),
    writable: z.boolean().default(false),
  })
  .strict();

const deviceSchema = z
  .object({
    ...connectorDeviceFields,
    /** Slave address: 1-247 on a serial line (Serial Line §2.2); TCP gateways may use 0-255. */
    unit_id: z.number().int().min(0).max(255),
    /** Per-slave answer timeout; defaults to the bus's. */
    timeout_ms: z.number().int().min(10).max(60_000).optional(),
    /** Replaces the catalog's register map for this device. */
    registers: z.array(registerSchema).optional(),
  })
  .strict();

const busFields = {
  id: connectorIdSchema,
  poll_interval_ms: z.number().int().min(10).max(3_600_000).default(1000),
  timeout_ms: z.number().int().min(10).max(60_000).default(300),
  /** Extra tries after a timeout or a CRC error, per request. */
  retries: z.number().int().min(0).max(10).default(1),
  /** A slave that failed this many polls in a row is polled only every dead_retry_ms, so it does not stall the bus. */
  dead_after: z.number().int().min(1).max(100).default(3),
  dead_retry_ms: z.number().int().min(100).max(3_600_000).default(10_000),
  devices: z.array(deviceSchema).min(1, "a bus needs at least one device"),
};

const isBitTable = (table: ModbusRegister["table"]): boolean => table === "coil" || table === "discrete";

/** Every problem with a device's register map, as `path: message` (empty when it is sound). */
export function registerMapProblems(type: DeviceType, registers: readonly ModbusRegister[]): string[] {
  const problems: string[] = [];
  const used = new Map<string, string>();
  registers.forEach((r, i) => {
    const at = `registers.${i}`;
    if (!type.metrics.some((m) => m.name === r.metric)) problems.push(`${at}.metric: ${r.metric} is not a metric of ${type.type}`);
    if (isBitTable(r.table) && r.dataType !== "bool") problems.push(`${at}.data_type: ${r.table} points are bool`);
    if (r.writable && (r.table === "input" || r.table === "discrete")) problems.push(`${at}.writable: ${r.table} points are read-only`);
    const width = isBitTable(r.table) ? 1 : wordCount(r.dataType);
    if (r.address + width > 65_536) problems.push(`${at}.address: ${r.address} + ${width} runs past 65535`);
    for (let a = r.address; a < r.address + width; a++) {
      const key = `${r.table}:${a}`;
      const owner = used.get(key);
      if (owner) problems.push(`${at}: ${r.table} ${a} of ${r.metric} overlaps ${owner}`);
      else used.set(key, r.metric);
    }
  });
  return problems;
}

type DeviceEntry = z.output<typeof deviceSchema>;

/** The register map in effect: the device's own, or the catalog's. */
export function registersOf(device: DeviceEntry) {
  if (device.registers)
    return device.registers.map((r) => ({
      metric: r.metric,
      table: r.table,
      address: r.address,
      dataType: r.data_type,
      wordOrder: r.word_order,
      scale: r.scale,
      offset: r.offset,
      writable: r.writable,
    }));
  return deviceType(device.type)?.protocols.modbus?.registers ?? [];
}

function checkDevices(bus: { devices: DeviceEntry[] }, ctx: z.RefinementCtx, maxUnit: number): void {
  uniqueDeviceIds(bus.devices, ctx);
  const units = new Map<number, string>();
  bus.devices.forEach((d, i) => {
    const type = deviceType(d.type);
    if (d.unit_id > maxUnit || d.unit_id === 0)
      ctx.addIssue({ code: "custom", path: ["devices", i, "unit_id"], message: `must be 1-${maxUnit}` });
    const other = units.get(d.unit_id);
    if (other) ctx.addIssue({ code: "custom", path: ["devices", i, "unit_id"], message: `unit ${d.unit_id} is also ${other}` });
    units.set(d.unit_id, d.id);
    if (!type) return;
    const registers = registersOf(d);
    if (registers.length === 0)
      ctx.addIssue({ code: "custom", path: ["devices", i, "registers"], message: `${d.type} has no Modbus register map; give registers` });
    for (const p of registerMapProblems(type, registers)) {
      const [head, ...rest] = p.split(": ");
      ctx.addIssue({ code: "custom", path: ["devices", i, ...(head ?? "").split(".")], message: rest.join(": ") });
    }
  });
}

export const modbusRtuSchema = z
  .object({
    type: z.literal("modbus-rtu"),
    ...busFields,
    port: z.string().min(1),
    baud_rate: z.number().int().min(300).max(921_600).default(9600),
    /** Serial Line §2.5.1: even parity is the default; none needs two stop bits on a strict line. */
    parity: z.enum(["none", "even", "odd"]).default("even"),
    data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
    stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict()
  .superRefine((bus, ctx) => checkDevices(bus, ctx, 247));

export const modbusTcpSchema = z
  .object({
    type: z.literal("modbus-tcp"),
    ...busFields,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(502),
  })
  .strict()
  .superRefine((bus, ctx) => checkDevices(bus, ctx, 255));

export type ModbusRtuConfig = z.output<typeof modbusRtuSchema>;
export type ModbusTcpConfig = z.output<typeof modbusTcpSchema>;
export type ModbusConfig = ModbusRtuConfig | ModbusTcpConfig;
