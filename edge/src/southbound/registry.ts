/**
 * The connector plug-ins, in one explicit map (STYLE.md: registered, not discovered). Importing
 * this loads only schemas and small modules; protocol libraries load in `create`.
 */
import { z } from "zod";
import type { Connector, ConnectorContext } from "./connector.js";
import { modbusRtuPlugin, modbusTcpPlugin } from "./modbus/index.js";
import { modbusRtuSchema, modbusTcpSchema } from "./modbus/schema.js";
import { opcuaPlugin } from "./opcua/index.js";
import { opcuaSchema } from "./opcua/schema.js";

export const connectorPlugins = {
  opcua: opcuaPlugin,
  "modbus-rtu": modbusRtuPlugin,
  "modbus-tcp": modbusTcpPlugin,
} as const;

export const connectorConfigSchema = z.discriminatedUnion("type", [opcuaSchema, modbusRtuSchema, modbusTcpSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `type must be one of ${Object.keys(connectorPlugins).join(", ")}` : undefined),
});

export type ConnectorConfig = z.output<typeof connectorConfigSchema>;

export function createConnector(config: ConnectorConfig, context: ConnectorContext): Promise<Connector> {
  switch (config.type) {
    case "opcua":
      return connectorPlugins.opcua.create(config, context);
    case "modbus-rtu":
      return connectorPlugins["modbus-rtu"].create(config, context);
    case "modbus-tcp":
      return connectorPlugins["modbus-tcp"].create(config, context);
  }
}
