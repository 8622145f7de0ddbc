/** Modbus TCP master (MBAP, Messaging on TCP/IP §3.1.3): one connection, one request in flight. */
import { createConnection, type Socket } from "node:net";
import { BvError } from "@bitvelocity/common";
import { decodeResponse, encodeRequest, type ModbusRequest, type ModbusResponse, splitTcpFrames, tcpFrame } from "@bitvelocity/devices";
import type { ModbusTcpConfig } from "./schema.js";
import type { ModbusTransport } from "./transport.js";

interface Pending {
  readonly transactionId: number;
  readonly unitId: number;
  readonly request: ModbusRequest;
  readonly resolve: (r: ModbusResponse) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const CONNECT_TIMEOUT_MS = 5000;

export class TcpTransport implements ModbusTransport {
  private socket: Socket | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private pending: Pending | undefined;

  constructor(private readonly config: ModbusTcpConfig) {}

  get description(): string {
    return `${this.config.host}:${this.config.port}`;
  }

  async open(onClose: (err: Error) => void): Promise<void> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: this.config.host, port: this.config.port });
      const timer = setTimeout(() => s.destroy(new Error("connect timed out")), CONNECT_TIMEOUT_MS);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (err) => {
        clearTimeout(timer);
        reject(
          new BvError("MODBUS_PORT_UNAVAILABLE", "transient", `cannot connect to ${this.description}: ${err.message}`, { cause: err }),
        );
      });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.socket = socket;
    this.rx = Buffer.alloc(0);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", () => undefined); // "close" follows
    socket.once("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.fail(new BvError("MODBUS_DISCONNECTED", "transient", `${this.description} closed the connection`));
      onClose(new Error("connection closed"));
    });
  }

  request(unitId: number, request: ModbusRequest, timeoutMs: number): Promise<ModbusResponse> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new BvError("MODBUS_DISCONNECTED", "transient", `${this.description} is not connected`));
    const transactionId = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new BvError("MODBUS_TIMEOUT", "transient", `unit ${unitId} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = { transactionId, unitId, request, resolve, reject, timer };
      socket.write(tcpFrame(transactionId, unitId, encodeRequest(request)));
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.fail(new BvError("MODBUS_DISCONNECTED", "transient", "transport closed"));
    socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    const { frames, rest, bad } = splitTcpFrames(Buffer.concat([this.rx, chunk]));
    this.rx = rest;
    if (bad) {
      this.fail(new BvError("MODBUS_FRAME", "protocol", `bad MBAP header from ${this.description}`));
      this.socket?.destroy(); // resynchronise by reconnecting
      return;
    }
    for (const f of frames) {
      const p = this.pending;
      // A late answer to a request that already timed out carries an older transaction id: dropped.
      if (!p || f.transactionId !== p.transactionId) continue;
      clearTimeout(p.timer);
      this.pending = undefined;
      try {
        p.resolve(decodeResponse(p.request, f.pdu));
      } catch (err) {
        p.reject(new BvError("MODBUS_FRAME", "protocol", `malformed answer from unit ${p.unitId}`, { cause: err }));
      }
    }
  }

  private fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    p.reject(err);
  }
}
