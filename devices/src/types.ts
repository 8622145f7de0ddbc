/** The device catalog's vocabulary: what a device type measures, accepts and speaks. */

export type MetricType = "number" | "integer" | "boolean" | "enum";

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly unit: string;
  readonly description: string;
  /** Physical range: a reading outside it is refused (dead-lettered). */
  readonly min?: number;
  readonly max?: number;
  /** Normal operating range, for dashboards and alert defaults. */
  readonly normal?: { readonly min: number; readonly max: number };
  /** Allowed values of an `enum` metric. */
  readonly values?: readonly string[];
}

export type ParamType = "number" | "integer" | "boolean" | "enum" | "string";

export interface ParamDef {
  readonly name: string;
  readonly type: ParamType;
  readonly description: string;
  readonly required: boolean;
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly maxLength?: number;
}

export interface CommandDef {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamDef[];
}

/** Modbus register data types (word order for 32-bit values is given per register). */
export type ModbusDataType = "int16" | "uint16" | "int32" | "uint32" | "float32" | "bool";

export interface ModbusRegister {
  readonly metric: string;
  readonly table: "holding" | "input" | "coil" | "discrete";
  readonly address: number;
  readonly dataType: ModbusDataType;
  readonly wordOrder?: "big" | "little";
  readonly scale?: number;
  readonly offset?: number;
  readonly writable?: boolean;
}

export interface OpcuaNode {
  readonly metric: string;
  /** Node id relative to the device's namespace, e.g. `ns=1;s=Line1.Counter`. */
  readonly nodeId: string;
  readonly writable?: boolean;
}

/** A command carried out as a register or coil write: the parameter's value, or a fixed value. */
export interface ModbusCommandWrite {
  readonly command: string;
  readonly table: "holding" | "coil";
  readonly address: number;
  readonly dataType: ModbusDataType;
  readonly wordOrder?: "big" | "little";
  readonly scale?: number;
  readonly offset?: number;
  readonly param?: string;
  readonly value?: number | boolean;
}

/** A command carried out as a node write (the node's DataType is read from the server). */
export interface OpcuaCommandWrite {
  readonly command: string;
  readonly nodeId: string;
  readonly param?: string;
  readonly value?: number | boolean | string;
}

export interface ProtocolMappings {
  readonly mqtt?: { readonly telemetryIntervalMs: number };
  readonly modbus?: { readonly registers: readonly ModbusRegister[]; readonly commands?: readonly ModbusCommandWrite[] };
  readonly opcua?: { readonly nodes: readonly OpcuaNode[]; readonly commands?: readonly OpcuaCommandWrite[] };
}

export interface DeviceType {
  /** Stable identifier used in config, topics of the registry and the wire: kebab-case. */
  readonly type: string;
  readonly name: string;
  readonly description: string;
  readonly category: "sensor" | "meter" | "plc" | "retail" | "tracker" | "actuator";
  readonly metrics: readonly MetricDef[];
  readonly commands: readonly CommandDef[];
  readonly protocols: ProtocolMappings;
}

export type MetricValue = number | boolean | string;
export type MetricValues = Record<string, MetricValue>;
