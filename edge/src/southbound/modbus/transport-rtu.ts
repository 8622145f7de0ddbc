/**
 * Modbus RTU master over a serial port (serialport). One request at a time (the bus serialises);
 * before each request the line must have been silent for the 3.5-character inter-frame gap
 * (Serial Line §2.5.1.1), and bytes that arrived outside a transaction (late answers, noise) are
 * discarded, so a late answer can never be taken for the next one.
 */
import { BvError } from "@bitvelocity/common";
import {
  decodeResponse,
  encodeRequest,
  interFrameGapMs,
  type ModbusRequest,
  type ModbusResponse,
  parseRtuFrame,
  responsePduLength,
  rtuFrame,
} from "@bitvelocity/devices";
import type { SerialPort } from "serialport";
import type { ModbusRtuConfig } from "./schema.js";
import type { ModbusTransport } from "./transport.js";

interface Pending {
  readonly unitId: number;
  readonly request: ModbusRequest;
  readonly resolve: (r: ModbusResponse) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class RtuTransport implements ModbusTransport {
  private port: SerialPort | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private lastByteAt = 0;
  private pending: Pending | undefined;
  private closeListener: ((err: Error) => void) | undefined;
  private readonly gapMs: number;
  private readonly charMs: number;

  constructor(private readonly config: ModbusRtuConfig) {
    const bitsPerChar = 1 + config.data_bits + (config.parity === "none" ? 0 : 1) + config.stop_bits;
    this.gapMs = interFrameGapMs(config.baud_rate, bitsPerChar);
    this.charMs = (bitsPerChar * 1000) / config.baud_rate;
  }

  get description(): string {
    return this.config.port;
  }

  async open(onClose: (err: Error) => void): Promise<void> {
    const { SerialPort } = await import("serialport");
    const port = new SerialPort({
      path: this.config.port,
      baudRate: this.config.baud_rate,
      parity: this.config.parity,
      dataBits: this.config.data_bits,
      stopBits: this.config.stop_bits,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err
          ? reject(new BvError("MODBUS_PORT_UNAVAILABLE", "transient", `cannot open ${this.config.port}: ${err.message}`, { cause: err }))
          : resolve(),
      ),
    );
    this.port = port;
    this.closeListener = onClose;
    port.on("data", (chunk: Buffer) => this.onData(chunk));
    port.on("error", (err) => this.lost(err));
    port.on("close", () => this.lost(new Error("port closed")));
  }

  async request(unitId: number, request: ModbusRequest, timeoutMs: number): Promise<ModbusResponse> {
    const port = this.port;
    if (!port) throw new BvError("MODBUS_DISCONNECTED", "transient", `${this.config.port} is not open`);
    await this.quiet();
    this.rx = Buffer.alloc(0);
    const frame = rtuFrame(unitId, encodeRequest(request));
    return new Promise<ModbusResponse>((resolve, reject) => {
      // The timeout runs from the end of our transmission (frame length × character time).
      const timer = setTimeout(
        () => {
          this.pending = undefined;
          reject(new BvError("MODBUS_TIMEOUT", "transient", `unit ${unitId} did not answer within ${timeoutMs} ms`));
        },
        timeoutMs + frame.length * this.charMs,
      );
      this.pending = { unitId, request, resolve, reject, timer };
      port.write(frame, (err) => {
        if (err) this.fail(new BvError("MODBUS_DISCONNECTED", "transient", `write to ${this.config.port} failed`, { cause: err }));
      });
      this.lastByteAt = performance.now() + frame.length * this.charMs;
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.closeListener = undefined;
    this.fail(new BvError("MODBUS_DISCONNECTED", "transient", "transport closed"));
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Waits until the line has been silent for the inter-frame gap. */
  private async quiet(): Promise<void> {
    for (;;) {
      const wait = this.lastByteAt + this.gapMs - performance.now();
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    }
  }

  private onData(chunk: Buffer): void {
    this.lastByteAt = performance.now();
    const p = this.pending;
    if (!p) return; // outside a transaction: discarded at the next request
    this.rx = Buffer.concat([this.rx, chunk]);
    const fc = this.rx[1];
    const exception = fc !== undefined && (fc & 0x80) !== 0;
    const need = exception ? 5 : 1 + responsePduLength(p.request) + 2;
    if (this.rx.length < need) return;
    const parsed = parseRtuFrame(this.rx.subarray(0, need));
    if (!parsed.ok) {
      this.fail(new BvError("MODBUS_CRC", "protocol", `bad CRC in the answer of unit ${p.unitId}`));
      return;
    }
    if (parsed.unitId !== p.unitId) {
      this.fail(new BvError("MODBUS_FRAME", "protocol", `answer from unit ${parsed.unitId}, expected ${p.unitId}`));
      return;
    }
    try {
      const response = decodeResponse(p.request, parsed.pdu);
      this.settle();
      p.resolve(response);
    } catch (err) {
      this.fail(new BvError("MODBUS_FRAME", "protocol", `malformed answer from unit ${p.unitId}`, { cause: err }));
    }
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.settle();
    p?.reject(err);
  }

  private lost(err: Error): void {
    if (!this.port) return;
    this.port = undefined;
    this.fail(new BvError("MODBUS_DISCONNECTED", "transient", `${this.config.port} lost: ${err.message}`, { cause: err }));
    const listener = this.closeListener;
    this.closeListener = undefined;
    listener?.(err);
  }
}
