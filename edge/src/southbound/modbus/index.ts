/** The Modbus plug-ins: RTU over a serial line, and TCP. */
import type { ConnectorPlugin } from "../connector.js";
import { ModbusConnector } from "./connector.js";
import { type ModbusRtuConfig, type ModbusTcpConfig, modbusRtuSchema, modbusTcpSchema } from "./schema.js";
import { RtuTransport } from "./transport-rtu.js";
import { TcpTransport } from "./transport-tcp.js";

export const modbusRtuPlugin: ConnectorPlugin<ModbusRtuConfig> = {
  type: "modbus-rtu",
  schema: modbusRtuSchema,
  create: async (config, context) => new ModbusConnector(config, new RtuTransport(config), context),
};

export const modbusTcpPlugin: ConnectorPlugin<ModbusTcpConfig> = {
  type: "modbus-tcp",
  schema: modbusTcpSchema,
  create: async (config, context) => new ModbusConnector(config, new TcpTransport(config), context),
};
