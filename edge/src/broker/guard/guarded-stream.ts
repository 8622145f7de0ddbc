/**
 * The validating pre-parser between a client's socket and aedes: a Duplex that aedes reads
 * whole, checked packets from, and writes its answers through. It refuses what aedes 1.x would
 * accept (packet-check.ts), enforces the packet size limit before authentication, and applies
 * per-client flow control (in-flight window, message rate) by pausing the socket: a client over
 * its limits waits, it does not lose data and is not disconnected into a reconnect loop.
 */
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { type Frame, FrameReader } from "./frame-reader.js";
import { OutboundTracker } from "./outbound-tracker.js";
import {
  type CheckOptions,
  type ConnectInfo,
  checkFirst,
  checkPacket,
  DISCONNECT,
  PUBLISH,
  SUBSCRIBE,
  UNSUBSCRIBE,
} from "./packet-check.js";
import type { SessionRegistry } from "./session-registry.js";
import type { TokenBuckets } from "./token-bucket.js";

export interface GuardOptions extends CheckOptions {
  readonly maxPacketSize: number;
  /** Inbound QoS 1/2 PUBLISHes not yet acknowledged (PUBACK / PUBCOMP) before reading pauses. */
  readonly maxInflight: number;
  /** Per client id; reading pauses while the client is over its rate. */
  readonly messageRate: TokenBuckets;
  readonly sessions: SessionRegistry;
  readonly refused: (reason: string) => void;
  readonly throttled: (limit: "inflight" | "rate") => void;
  readonly now?: () => number;
}

type Stream = Socket | Duplex;

/** Packets that keep their relative order when one of them has to wait. */
const ORDERED = new Set([PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT]);

export class GuardedStream extends Duplex {
  private readonly reader: FrameReader;
  private readonly tracker: OutboundTracker;
  private readonly inflight = new Set<number>();
  private held: Frame[] = [];
  private connect: ConnectInfo | undefined;
  private connackPrefix: Buffer[] | undefined = [];
  private sessionOpen = false;
  private wantsData = true;
  private throttle: NodeJS.Timeout | undefined;
  private ended = false;
  private retainedPending = 0;
  /** The device id named by a verified TLS client certificate (read by the device policy). */
  certIdentity: string | undefined;

  constructor(
    private readonly socket: Stream,
    private readonly options: GuardOptions,
  ) {
    super({ allowHalfOpen: false });
    this.reader = new FrameReader(options.maxPacketSize);
    this.tracker = new OutboundTracker({ connack: () => undefined, acked: (id) => this.acked(id) });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.push(null));
    socket.on("close", () => this.onClose());
    socket.on("error", (err: Error) => this.destroy(err));
  }

  /** Remote address of the underlying socket, for logs and limits. */
  get remoteAddress(): string | undefined {
    return (this.socket as Socket).remoteAddress;
  }

  override _read(): void {
    this.wantsData = true;
    this.resumeIfFree();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.connackPrefix) {
      this.connackPrefix.push(chunk);
      const all = Buffer.concat(this.connackPrefix);
      if (all.length < 4) {
        cb();
        return;
      }
      this.connackPrefix = undefined;
      this.patchConnack(all);
      this.tracker.feed(all.subarray(4));
      this.socket.write(all, cb);
      return;
    }
    this.tracker.feed(chunk);
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.throttle);
    // A refusal CONNACK is on its way out: let the socket flush it and close by itself.
    if (!this.ended) this.socket.destroy();
    cb(err);
  }

  private patchConnack(bytes: Buffer): void {
    // CONNACK is the first packet aedes writes [MQTT-3.2.0-1]; 3.1.1 CONNACK is 4 bytes.
    if (bytes[0] !== 0x20 || bytes[1] !== 0x02 || !this.connect) return;
    if (bytes[3] !== 0) return;
    const present = this.options.sessions.connected(this.connect.clientId, this.connect.clean, this.now());
    // MQTT 3.1 has no session present flag: the byte is reserved there.
    bytes[2] = present && this.connect.version === 4 ? 1 : 0;
    this.sessionOpen = !this.connect.clean;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private onClose(): void {
    clearTimeout(this.throttle);
    if (this.sessionOpen && this.connect) this.options.sessions.disconnected(this.connect.clientId, this.now());
    this.sessionOpen = false;
    this.destroy();
  }

  private onData(chunk: Buffer): void {
    const frames = this.reader.push(chunk);
    if (typeof frames === "string") {
      this.refuse(frames);
      return;
    }
    this.held.push(...frames);
    this.drain();
  }

  /**
   * Passes held frames to aedes. A PUBLISH over a flow limit (or a SUBSCRIBE behind a retained
   * PUBLISH aedes has not finished) waits, and every later PUBLISH, (UN)SUBSCRIBE and DISCONNECT
   * waits behind it (order is kept); acknowledgements and pings still pass, so a QoS 2 PUBREL
   * can free the window. Reading pauses when the waiting bytes
   * exceed one maximum packet (at least 64 KiB).
   */
  private drain(): void {
    let blocked = false;
    let i = 0;
    while (i < this.held.length && !this.destroyed) {
      const frame = this.held[i] as Frame;
      if (!this.connect) {
        const v = checkFirst(frame, this.options);
        if (v.action === "close") {
          this.refuse(v.reason);
          return;
        }
        if (v.action === "connack") {
          this.refuseWithConnack(v.code, v.reason);
          return;
        }
        this.connect = v.connect;
      } else {
        const v = checkPacket(frame, this.connect.version, this.options);
        if (v.action !== "pass") {
          this.refuse(v.reason);
          return;
        }
        if (ORDERED.has(frame.type) && (blocked || !this.admit(frame))) {
          blocked = true;
          i++;
          continue;
        }
      }
      this.held.splice(i, 1);
      if (frame.type === PUBLISH && frame.flags & 0x01) this.retainedPending++;
      if (!this.push(frame.bytes)) this.wantsData = false;
    }
    let heldBytes = 0;
    for (const f of this.held) heldBytes += f.bytes.length;
    if (this.wantsData && heldBytes <= Math.max(65_536, this.options.maxPacketSize)) this.socket.resume();
    else this.socket.pause();
  }

  /**
   * aedes finished a retained PUBLISH of this client (stored it, routed it). Until then a
   * SUBSCRIBE from the same client waits: otherwise aedes registers the subscription first and
   * the message arrives twice, live (retain 0) and retained (retain 1), though it was published
   * before the subscription existed [MQTT-3.3.1-8/9].
   */
  publishSettled(): void {
    if (this.retainedPending === 0) return;
    this.retainedPending--;
    if (this.retainedPending === 0 && this.held.length > 0) this.drain();
  }

  private admit(frame: Frame): boolean {
    if (frame.type === PUBLISH) return this.admitPublish(frame);
    if (frame.type === SUBSCRIBE) return this.retainedPending === 0;
    return true;
  }

  private admitPublish(frame: Frame): boolean {
    const qos = (frame.flags >> 1) & 0x03;
    let id: number | undefined;
    if (qos > 0) {
      const topicLength = frame.bytes.readUInt16BE(frame.bodyStart);
      id = frame.bytes.readUInt16BE(frame.bodyStart + 2 + topicLength);
      // A retransmission of an id still in flight does not widen the window.
      if (!this.inflight.has(id) && this.inflight.size >= this.options.maxInflight) {
        this.options.throttled("inflight");
        return false;
      }
    }
    if (!this.options.messageRate.take((this.connect as ConnectInfo).clientId)) {
      this.options.throttled("rate");
      clearTimeout(this.throttle);
      this.throttle = setTimeout(() => this.drain(), 50);
      return false;
    }
    if (id !== undefined) this.inflight.add(id);
    return true;
  }

  private acked(id: number): void {
    if (!this.inflight.delete(id)) return;
    if (this.held.length > 0 && this.inflight.size < this.options.maxInflight) this.drain();
  }

  private resumeIfFree(): void {
    if (this.held.length > 0) this.drain();
    else this.socket.resume();
  }

  private refuse(reason: string): void {
    this.options.refused(reason);
    this.held = [];
    this.destroy();
  }

  private refuseWithConnack(code: number, reason: string): void {
    this.options.refused(reason);
    this.held = [];
    this.ended = true;
    // [MQTT-3.2.2-5]: a CONNACK with a non-zero code, then the connection is closed.
    this.socket.end(Buffer.from([0x20, 0x02, 0x00, code]));
    this.destroy();
  }
}
