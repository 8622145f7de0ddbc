/** Config of the Modbus connectors; the schema is shared (common/src/edge-config/modbus.ts). */
export {
  type ModbusConfig,
  type ModbusRtuConfig,
  type ModbusTcpConfig,
  modbusRtuSchema,
  modbusTcpSchema,
  registersOf,
} from "@bitvelocity/common/edge-config";
