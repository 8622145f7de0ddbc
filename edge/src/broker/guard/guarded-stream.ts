/**
 * The validating pre-parser between a client's socket and aedes: a Duplex that aedes reads
 * whole, checked packets from, and writes its answers through. It refuses what aedes 1.x would
 * accept (packet-check.ts), enforces the packet size limit before authentication, and applies
 * per-client flow control (in-flight window, message rate, un-committed publishes) by pausing the
 * socket: a client over its limits waits (TCP back-pressure slows the sender), it does not lose data
 * and is not disconnected into a reconnect loop.
 */
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { CommitWindow } from "./commit-window.js";
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
  /**
   * PUBLISHes (any QoS) passed to aedes whose handling has not finished (`publishHandled`), per
   * connection; beyond it reading pauses until commits land.
   */
  readonly maxUncommitted: number;
  /** The same, summed over all connections. */
  readonly commitWindow: CommitWindow;
  readonly sessions: SessionRegistry;
  readonly refused: (reason: string) => void;
  readonly throttled: (limit: "inflight" | "rate" | "uncommitted" | "commit_window") => void;
  readonly now?: () => number;
}

type Stream = Socket | Duplex;

/** Packets that keep their relative order when one of them has to wait. */
const ORDERED = new Set([PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT]);

export class GuardedStream extends Duplex {
  private readonly reader: FrameReader;
  private readonly tracker: OutboundTracker;
  private readonly inflight = new Set<number>();
  /** Checked PUBLISH, (UN)SUBSCRIBE and DISCONNECT packets waiting for a flow limit, in order. */
  private held: Frame[] = [];
  private heldBytes = 0;
  private connect: ConnectInfo | undefined;
  private connackPrefix: Buffer[] | undefined = [];
  private sessionOpen = false;
  private wantsData = true;
  private throttle: NodeJS.Timeout | undefined;
  private ended = false;
  private retainedPending = 0;
  private uncommitted = 0;
  private waitingForRoom = false;
  private released = false;
  /** The limit the waiting packets last waited for; cleared when none waits. */
  private waitingOn: string | undefined;
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

  /**
   * aedes (mqtt-packet) corks this stream while it writes a packet, and the PUBACKs of one commit
   * are written in the same tick: they reach the socket as one buffer, one system call.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    if (this.connackPrefix) {
      // Before and with the CONNACK (once per connection): chunk by chunk.
      let i = 0;
      const next = (err?: Error | null): void => {
        const item = chunks[i++];
        if (err || !item) cb(err);
        else this._write(item.chunk, "binary", next);
      };
      next();
      return;
    }
    const all = chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.tracker.feed(all);
    this.socket.write(all, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.throttle);
    this.releaseAll();
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
    this.releaseAll();
    if (this.sessionOpen && this.connect) this.options.sessions.disconnected(this.connect.clientId, this.now());
    this.sessionOpen = false;
    this.destroy();
  }

  /**
   * Checks each new packet once, in order, and passes it to aedes unless it has to wait: a
   * PUBLISH over a flow limit (or a SUBSCRIBE behind a retained PUBLISH aedes has not finished)
   * waits, and every later PUBLISH, (UN)SUBSCRIBE and DISCONNECT waits behind it (order is kept);
   * acknowledgements and pings still pass, so a QoS 2 PUBREL can free the window.
   */
  private onData(chunk: Buffer): void {
    const frames = this.reader.push(chunk);
    if (typeof frames === "string") {
      this.refuse(frames);
      return;
    }
    for (const frame of frames) {
      if (this.destroyed) return;
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
        if (ORDERED.has(frame.type) && (this.held.length > 0 || !this.admit(frame))) {
          this.held.push(frame);
          this.heldBytes += frame.bytes.length;
          continue;
        }
      }
      this.pass(frame);
    }
    this.flowControl();
  }

  /** Passes the waiting packets (all checked already) that may go now, in order. */
  private drain(): void {
    while (this.held.length > 0 && !this.destroyed) {
      const frame = this.held[0] as Frame;
      if (!this.admit(frame)) break;
      this.held.shift();
      this.heldBytes -= frame.bytes.length;
      this.pass(frame);
    }
    if (this.held.length === 0) this.waitingOn = undefined;
    this.flowControl();
  }

  private pass(frame: Frame): void {
    if (frame.type === PUBLISH && frame.flags & 0x01) this.retainedPending++;
    if (!this.push(frame.bytes)) this.wantsData = false;
  }

  /** Reading pauses while aedes is full or the waiting bytes exceed one maximum packet (at least 64 KiB). */
  private flowControl(): void {
    if (this.destroyed) return;
    if (this.wantsData && this.heldBytes <= Math.max(65_536, this.options.maxPacketSize)) this.socket.resume();
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

  /**
   * aedes finished handling one PUBLISH of this connection (for telemetry: its reading is
   * committed, or refused). Frees its slot; the next waiting PUBLISH may pass.
   */
  publishHandled(): void {
    if (this.released || this.uncommitted === 0) return;
    this.uncommitted--;
    this.options.commitWindow.release();
    if (this.held.length > 0) this.drain();
  }

  /**
   * A closed connection gives its slots back at once: aedes may never finish the PUBLISHes it had
   * not parsed yet. Those it is still committing briefly exceed the window; the outbox queue
   * leaves room for that.
   */
  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    const n = this.uncommitted;
    this.uncommitted = 0;
    if (n > 0) this.options.commitWindow.release(n);
  }

  /** Counts a wait once per limit while packets keep waiting, not once per attempt. */
  private pausedBy(limit: Parameters<GuardOptions["throttled"]>[0]): void {
    if (this.waitingOn === limit) return;
    this.waitingOn = limit;
    this.options.throttled(limit);
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
        this.pausedBy("inflight");
        return false;
      }
    }
    if (this.uncommitted >= this.options.maxUncommitted) {
      // Woken by publishHandled.
      this.pausedBy("uncommitted");
      return false;
    }
    const window = this.options.commitWindow;
    if (!window.hasRoom()) {
      this.pausedBy("commit_window");
      if (!this.waitingForRoom) {
        this.waitingForRoom = true;
        window.whenRoom(() => {
          this.waitingForRoom = false;
          if (!this.destroyed && this.held.length > 0) this.drain();
        });
      }
      return false;
    }
    if (!this.options.messageRate.take((this.connect as ConnectInfo).clientId)) {
      this.pausedBy("rate");
      clearTimeout(this.throttle);
      this.throttle = setTimeout(() => this.drain(), 50);
      return false;
    }
    if (id !== undefined) this.inflight.add(id);
    this.uncommitted++;
    window.take();
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
    this.heldBytes = 0;
    this.destroy();
  }

  private refuseWithConnack(code: number, reason: string): void {
    this.options.refused(reason);
    this.held = [];
    this.heldBytes = 0;
    this.ended = true;
    // [MQTT-3.2.2-5]: a CONNACK with a non-zero code, then the connection is closed.
    this.socket.end(Buffer.from([0x20, 0x02, 0x00, code]));
    this.destroy();
  }
}
