/** A TCP connection read as a byte stream with deadlines: what a conformance vector needs from a socket. */
import { connect, type Socket } from "node:net";

export class WireTimeout extends Error {
  override readonly name = "WireTimeout";
}

export class Wire {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new WireTimeout(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new Wire(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: Buffer): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Exactly n bytes; rejects when the peer closes first or the deadline passes. */
  async read(n: number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < n) {
      if (this.ended) throw new Error(`connection closed after ${this.buffer.length} of ${n} bytes`);
      await this.wait(deadline);
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** One whole MQTT packet (fixed header, remaining length, body). */
  async readPacket(timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    const header = [...(await this.read(1, timeoutMs))];
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const [b] = await this.read(1, Math.max(1, deadline - Date.now()));
      header.push(b as number);
      length += ((b as number) & 0x7f) * 128 ** i;
      if (((b as number) & 0x80) === 0) break;
    }
    const body = await this.read(length, Math.max(1, deadline - Date.now()));
    return Buffer.concat([Buffer.from(header), body]);
  }

  /** Resolves true when the peer closes within the deadline (bytes it sends meanwhile are discarded). */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      try {
        await this.wait(deadline);
      } catch {
        return false;
      }
      this.buffer = Buffer.alloc(0);
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private wait(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new WireTimeout("timed out"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new WireTimeout("timed out"));
      }, left);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
