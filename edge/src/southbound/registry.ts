/**
 * The connector plug-ins, in one explicit map (STYLE.md: registered, not discovered). Importing
 * this loads only schemas and small modules; protocol libraries load in `create`.
 */
import type { ConnectorConfig } from "@bitvelocity/common/edge-config";
import type { Connector, ConnectorContext } from "./connector.js";
import { modbusRtuPlugin, modbusTcpPlugin } from "./modbus/index.js";
import { opcuaPlugin } from "./opcua/index.js";

export const connectorPlugins = {
  opcua: opcuaPlugin,
  "modbus-rtu": modbusRtuPlugin,
  "modbus-tcp": modbusTcpPlugin,
} as const;

export { type ConnectorConfig, connectorConfigSchema } from "@bitvelocity/common/edge-config";

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
