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
import { type DirectRoute, type PublishParts, pubacks, publishParts } from "./direct.js";
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
   * PUBLISHes (any QoS) passed on (to aedes or the direct route) whose handling has not finished, per
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
  /** Set by the broker: PUBLISHes handled without aedes (direct.ts). */
  private direct: DirectRoute | undefined;
  /** aedes accepted the CONNECT (its CONNACK went out with code 0): the direct route may be used. */
  private accepted = false;
  /** PUBLISHes passed to aedes not yet handled, and QoS 1 ids among them whose PUBACK aedes has not written. */
  private viaAedes = 0;
  private readonly aedesAcks = new Set<number>();
  /** PUBLISHes on the direct route not yet committed. */
  private viaDirect = 0;
  /** The direct route decided for the PUBLISH just admitted (admitPublish → pass). */
  private admitted: PublishParts | undefined;
  /** Direct PUBACKs to write at the end of this tick, as one buffer. */
  private acks: number[] = [];

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

  /** Lets the access policy handle its PUBLISHes without aedes once the connection is accepted. */
  route(direct: DirectRoute): void {
    this.direct = direct;
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
    this.accepted = true;
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
    if (frame.type === PUBLISH) {
      const direct = this.admitted;
      this.admitted = undefined;
      if (direct) {
        this.sendDirect(frame, direct);
        return;
      }
      this.viaAedes++;
      if (frame.flags & 0x01) this.retainedPending++;
      if ((frame.flags & 0x06) === 0x02)
        this.aedesAcks.add(frame.bytes.readUInt16BE(frame.bodyStart + 2 + frame.bytes.readUInt16BE(frame.bodyStart)));
    }
    if (!this.push(frame.bytes)) this.wantsData = false;
  }

  /**
   * The direct route (direct.ts): the policy commits the reading; the PUBACK follows, with the
   * others of this tick in one write. aedes sees no packet, so its keepalive is refreshed here.
   */
  private sendDirect(frame: Frame, parts: PublishParts): void {
    const direct = this.direct as DirectRoute;
    direct.activity();
    this.viaDirect++;
    const clientId = (this.connect as ConnectInfo).clientId;
    direct.publish.handle(clientId, parts.topic, frame.bytes.subarray(parts.payloadStart), parts.id !== undefined, (err) => {
      this.viaDirect--;
      if (err) {
        this.destroy(err);
        return;
      }
      if (parts.id !== undefined && !this.destroyed) {
        this.acks.push(parts.id);
        if (this.acks.length === 1) process.nextTick(() => this.writeAcks());
      }
      this.freeSlot();
    });
  }

  private writeAcks(): void {
    const ids = this.acks;
    this.acks = [];
    if (this.destroyed) return;
    this.socket.write(pubacks(ids));
    for (const id of ids) this.acked(id);
  }

  /**
   * Which route the PUBLISH takes: direct when the policy takes it; undefined for aedes. PUBLISHes
   * keep their order across routes (and so do their PUBACKs [MQTT-4.6.0-2]): a PUBLISH for the other
   * route waits until those on this one are handled. Returns false when it has to wait.
   */
  private routeOf(frame: Frame): PublishParts | undefined | false {
    let parts: PublishParts | undefined;
    if (this.direct && this.accepted && (frame.flags & 0x05) === 0 /* QoS 0 or 1, not retained */) {
      const p = publishParts(frame);
      if (this.direct.publish.takes((this.connect as ConnectInfo).clientId, p.topic)) parts = p;
    }
    if (parts) return this.viaAedes > 0 || this.aedesAcks.size > 0 ? false : parts;
    return this.viaDirect > 0 ? false : undefined;
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
    if (this.viaAedes > 0) this.viaAedes--;
    this.freeSlot();
  }

  private freeSlot(): void {
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
    // After the window: a connection woken for room finds out cheaply whether it still has to wait.
    const route = this.routeOf(frame);
    if (route === false) return false; // woken when the other route's PUBLISHes are handled
    if (!this.options.messageRate.take((this.connect as ConnectInfo).clientId)) {
      this.pausedBy("rate");
      clearTimeout(this.throttle);
      this.throttle = setTimeout(() => this.drain(), 50);
      return false;
    }
    if (id !== undefined) this.inflight.add(id);
    this.uncommitted++;
    window.take();
    this.admitted = route;
    return true;
  }

  private acked(id: number): void {
    if (this.aedesAcks.delete(id) && this.aedesAcks.size === 0 && this.held.length > 0) {
      this.inflight.delete(id);
      this.drain();
      return;
    }
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
