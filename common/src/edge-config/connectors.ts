/** Every southbound connector's config, one schema per protocol, told apart by `type`. */
import { z } from "zod";
import { modbusRtuSchema, modbusTcpSchema } from "./modbus.js";
import { opcuaSchema } from "./opcua.js";

export const CONNECTOR_TYPES = ["opcua", "modbus-rtu", "modbus-tcp"] as const;

export const connectorConfigSchema = z.discriminatedUnion("type", [opcuaSchema, modbusRtuSchema, modbusTcpSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `type must be one of ${CONNECTOR_TYPES.join(", ")}` : undefined),
});

export type ConnectorConfig = z.output<typeof connectorConfigSchema>;
