/** The OPC UA plug-in. node-opcua-client (~100 MB resident) is imported only when a connector is configured. */
import type { ConnectorPlugin } from "../connector.js";
import { type OpcuaConfig, opcuaSchema } from "./schema.js";

export const opcuaPlugin: ConnectorPlugin<OpcuaConfig> = {
  type: "opcua",
  schema: opcuaSchema,
  create: async (config, context) => {
    const { OpcuaConnector } = await import("./connector.js");
    return new OpcuaConnector(config, context);
  },
};
