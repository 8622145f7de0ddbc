/**
 * Serves a SlaveBus as Modbus RTU on a serial device, e.g. one end of a socat pty pair. A request
 * with a bad CRC is ignored, as the Serial Line spec requires of a slave (§2.4.1); a broadcast
 * (unit 0) is not answered. close()/open() unplug and replug the line.
 */
import { parseRtuFrame, rtuFrame } from "@bitvelocity/devices";
import type { SerialPort } from "serialport";
import type { SlaveBus } from "./bus.js";

/** Request length from its first bytes (fixed for 1-6; 15/16 carry a byte count), or undefined when unknown yet. */
function requestLength(buf: Buffer): number | undefined {
  const fc = buf[1];
  if (fc === undefined) return undefined;
  if (fc >= 1 && fc <= 6) return 8;
  if (fc === 15 || fc === 16) return buf.length >= 7 ? 9 + (buf[6] ?? 0) : undefined;
  return 4; // unknown function: take what is there as one frame
}

export class RtuSlaveServer {
  private port: SerialPort | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly bus: SlaveBus,
    private readonly baudRate = 9600,
  ) {}

  async open(): Promise<void> {
    const { SerialPort } = await import("serialport");
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on("data", (chunk: Buffer) => this.onData(chunk));
    port.on("error", () => undefined);
    this.port = port;
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    clearTimeout(this.flushTimer);
    this.rx = Buffer.alloc(0);
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.rx = Buffer.concat([this.rx, chunk]);
    // Bytes that never complete a frame are dropped once the line goes quiet (a frame gap).
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.rx = Buffer.alloc(0);
    }, 20);
    for (;;) {
      const need = requestLength(this.rx);
      if (need === undefined || this.rx.length < need) return;
      const frame = this.rx.subarray(0, need);
      this.rx = this.rx.subarray(need);
      this.handle(frame);
    }
  }

  private handle(frame: Buffer): void {
    const parsed = parseRtuFrame(frame);
    if (!parsed.ok) {
      this.rx = Buffer.alloc(0); // lost sync: wait for the next frame
      return;
    }
    if (parsed.unitId === 0) return;
    const pdu = this.bus.answer(parsed.unitId, parsed.pdu);
    if (!pdu) return;
    const out = rtuFrame(parsed.unitId, pdu);
    if (this.bus.corruptNext()) out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 0x5a;
    this.port?.write(out);
  }
}
