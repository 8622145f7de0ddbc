/** A Modbus master's wire: RTU on a serial line or MBAP over TCP. One request at a time. */
import type { ModbusRequest, ModbusResponse } from "@bitvelocity/devices";

export interface ModbusTransport {
  /** Where it talks to, for logs. */
  readonly description: string;
  /** Opens the wire; `onClose` fires once if it is lost afterwards. Throws MODBUS_PORT_UNAVAILABLE. */
  open(onClose: (err: Error) => void): Promise<void>;
  /**
   * Sends one request and waits for its answer. Throws BvError MODBUS_TIMEOUT, MODBUS_CRC,
   * MODBUS_FRAME or MODBUS_DISCONNECTED; a Modbus exception is a normal response.
   */
  request(unitId: number, request: ModbusRequest, timeoutMs: number): Promise<ModbusResponse>;
  close(): Promise<void>;
}
