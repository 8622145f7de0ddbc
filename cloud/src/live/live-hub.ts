/**
 * Live fan-out to browsers over socket.io, on the cloud's HTTP server. Each socket has a
 * ClientBuffer; bus listeners only append to buffers, so ingest never waits on a browser. When
 * a buffer is written is the socket's FlushGate's call (flush-gate.ts): at once (end of the
 * event-loop turn) while the socket's transport keeps up, coalesced while it has not drained the
 * previous write, for at most `throttleMs`. A socket whose transport is backed up is not written
 * to and its buffer stays bounded (oldest readings dropped, counted in bv_cloud_live_dropped_total).
 */
import type { ClientToServerEvents } from "@bitvelocity/api";
import type { Logger } from "@bitvelocity/common";
import { Counter, Gauge, type Registry } from "prom-client";
import { Server } from "socket.io";
import {
  API_TOKEN_PREFIX,
  type ApiTokenStore,
  type SessionStore,
  tokenFromAuthorization,
  tokenFromCookie,
  type User,
} from "../identity/index.js";
import type { EventBus } from "../platform/event-bus.js";
import type { AlertView, CommandView, DeviceSummary, EdgeSummary, ReadingsCommitted } from "../platform/events.js";
import type { CloudHttpServer } from "../platform/module.js";
import { originRefusal } from "../platform/origin.js";
import { ClientBuffer } from "./client-buffer.js";
import { type ClusterOptions, joinCluster } from "./cluster-bridge.js";
import { FleetDigest } from "./fleet-digest.js";
import { FlushGate } from "./flush-gate.js";
import type { LiveEmits, LiveServer, LiveSocket, LiveSocketData, RelayEvents, SubscribeReply } from "./live-types.js";
import { emitArray } from "./shared-encoding.js";
import { type LiveDirectory, parseTopic, type Topic } from "./subscriptions.js";

export interface LiveHubOptions {
  readonly bus: EventBus;
  readonly sessions: SessionStore;
  /** API tokens (`bvt_…`) authenticate socket.io like they do the REST API. */
  readonly tokens?: ApiTokenStore;
  readonly directory: LiveDirectory;
  /** The longest a reading waits in a client's buffer while its transport is busy (live.throttle_ms). */
  readonly throttleMs: number;
  readonly maxBuffered: number;
  /** Origins besides the cloud's own whose pages may connect (http.allowed_origins). */
  readonly allowedOrigins?: readonly string[];
  readonly registry: Registry;
  readonly logger: Logger;
}

/** How often every connection's session or token is checked again (expiry). */
const REVALIDATE_MS = 60_000;

/**
 * Fleet pages get device summaries once a tick (fleet-digest.ts): every state change, and up to
 * this many reading-only changes, so a page of a 10,000-device fleet refreshes each device's
 * latest values every 10 s (~300 KB/s) instead of receiving 10,000 summaries a second, and one of
 * up to 1,000 devices every second (the page renders at most once a second anyway). Ten small
 * ticks a second rather than one big one: 1,000 summaries to every page at once held back the
 * readings queued behind them (bench/RESULTS.md, "Live fan-out").
 */
export const FLEET_TICK_MS = 100;
export const FLEET_SUMMARIES_PER_TICK = 100;

/**
 * How long a topic's snapshot is shared with the pages that subscribe after the first. 100 fleet
 * pages opening over a few seconds built and encoded 10,000 summaries each (the devices' summaries
 * change with every reading, so their encodings could not be reused): a second of sharing cut
 * that to a few lists (bench/RESULTS.md, "Live fan-out: shared snapshots").
 */
export const SNAPSHOT_SHARE_MS = 1000;

/** Packets queued in engine.io beyond which a socket counts as slow and is not written to. */
const SLOW_SOCKET_PACKETS = 32;
/**
 * Bytes queued in engine.io beyond which a socket counts as slow: a fleet page of 10,000 devices
 * gets packets of megabytes (their device summaries), and 32 of them would be ~100 MB per socket.
 */
const SLOW_SOCKET_BYTES = 1024 * 1024;

/** Whether engine.io's queue of a socket holds more than the slow bounds allow. */
export function backedUp(queue: readonly unknown[] | undefined): boolean {
  if (!queue || queue.length === 0) return false;
  if (queue.length > SLOW_SOCKET_PACKETS) return true;
  let bytes = 0;
  for (const packet of queue) {
    const data = (packet as { data?: unknown }).data;
    if (typeof data === "string") bytes += data.length;
    else if (data instanceof Uint8Array) bytes += data.byteLength;
  }
  return bytes > SLOW_SOCKET_BYTES;
}

interface Client {
  readonly socket: LiveSocket;
  readonly buffer: ClientBuffer;
  readonly topics: Set<string>;
  readonly gate: FlushGate;
}

/** The parts of engine.io's socket (socket.conn) the gate reads: not in its public typings. */
interface EngineTransport {
  readonly writable: boolean;
  on(event: "ready", listener: () => void): unknown;
  off(event: "ready", listener: () => void): unknown;
}
interface EngineConn {
  readonly transport: EngineTransport;
  /** Packets not yet handed to the transport. */
  readonly writeBuffer?: readonly unknown[];
  on(event: "upgrade", listener: (transport: EngineTransport) => void): unknown;
}

type Ack = (reply: SubscribeReply) => void;

export class LiveHub {
  private readonly io: LiveServer;
  private readonly clients = new Map<string, Client>();
  /** topic key (`device:x`, `edge:y`, `site:z`, `fleet`) → subscribed clients */
  private readonly byTopic = new Map<string, Set<Client>>();
  private readonly dropped: Counter;
  private readonly connected: Gauge;
  private readonly unsubscribers: (() => void)[] = [];
  private leaveCluster: (() => Promise<void>) | undefined;
  private readonly revalidateTimer: NodeJS.Timeout;
  private readonly fleet: FleetDigest;
  private readonly fleetTimer: NodeJS.Timeout;
  /**
   * The device list of each topic's latest snapshot, shared by every client subscribing to the
   * topic within SNAPSHOT_SHARE_MS (one list and one encoded packet for many pages opening at
   * once). Forgotten on any device state change, so a snapshot never holds a state older than one
   * the hub has already sent; its readings (last seen, latest values) may be up to that long old,
   * and the readings that follow bring them up to date.
   */
  private readonly snapshots = new Map<string, { readonly at: number; readonly devices: readonly DeviceSummary[] }>();

  constructor(
    http: CloudHttpServer,
    private readonly options: LiveHubOptions,
  ) {
    this.fleet = new FleetDigest((id) => options.directory.device(id));
    const registers = [options.registry];
    this.dropped = new Counter({ name: "bv_cloud_live_dropped_total", help: "Readings dropped for slow live clients", registers });
    this.connected = new Gauge({ name: "bv_cloud_live_clients", help: "Connected live (socket.io) clients", registers });
    this.io = new Server<ClientToServerEvents, LiveEmits, RelayEvents, LiveSocketData>(http, {
      serveClient: false,
      maxHttpBufferSize: 64 * 1024,
      // A page of another origin never gets the live fleet with the user's cookie (platform/origin.ts).
      allowRequest: (req, callback) => {
        const refusal = originRefusal(req.headers, "encrypted" in req.socket, { allowed: options.allowedOrigins ?? [] });
        if (refusal) options.logger.debug({ refusal }, "socket.io handshake refused");
        callback(refusal ?? null, refusal === undefined);
      },
    });
    this.io.use((socket, next) => {
      this.authenticate(socket)
        .then((user) => {
          if (!user) return next(new Error("unauthorized"));
          socket.data.user = user;
          next();
        })
        .catch(() => next(new Error("unauthorized")));
    });
    this.io.on("connection", (socket) => this.onConnection(socket));
    const bus = options.bus;
    this.unsubscribers.push(
      bus.on("readingsCommitted", (e) => this.onReadings(e)),
      bus.on("deviceUpdated", (d) => this.onDevice(d)),
      bus.on("edgeUpdated", (e) => this.onEdge(e)),
      bus.on("commandUpdated", (c) => this.onCommand(c)),
      bus.on("alertUpdated", (a) => this.onAlert(a)),
    );
    // A logout, a revoked token or an expired session ends the live connection too.
    this.unsubscribers.push(
      options.sessions.onRevoked(() => this.revalidate()),
      options.tokens?.onRevoked(() => this.revalidate()) ?? (() => {}),
    );
    this.revalidateTimer = setInterval(() => this.revalidate(), REVALIDATE_MS);
    this.revalidateTimer.unref();
    this.fleetTimer = setInterval(() => this.fleetTick(), FLEET_TICK_MS);
    this.fleetTimer.unref();
  }

  /** Disconnects every socket whose session or API token no longer resolves. */
  private revalidate(): void {
    for (const c of this.clients.values()) {
      this.authenticate(c.socket)
        .then((user) => {
          if (!user) c.socket.disconnect(true);
        })
        .catch(() => {});
    }
  }

  /**
   * The socket.io server, for other namespaces (chat's `/chat`): they share the HTTP attachment
   * and, when joined, the Redis adapter. Typed without the live event maps, which are this
   * namespace's only.
   */
  get server(): Server {
    return this.io as unknown as Server;
  }

  /** Joins the other cloud nodes through Redis (cluster-bridge.ts). */
  async joinCluster(options: ClusterOptions): Promise<void> {
    this.leaveCluster = await joinCluster(this.io, this.options.bus, options);
  }

  /** Stops the fan-out; closes socket.io (and with it the HTTP server it is attached to). */
  async close(): Promise<void> {
    for (const off of this.unsubscribers.splice(0)) off();
    for (const c of this.clients.values()) c.gate.close();
    clearInterval(this.revalidateTimer);
    clearInterval(this.fleetTimer);
    await new Promise<void>((resolve) => {
      // socket.io's close returns a promise too, but reports completion through the callback.
      void this.io.close(() => resolve());
    });
    // After socket.io: closing it unsubscribes the adapter, which needs its Redis connections.
    await this.leaveCluster?.();
  }

  private async authenticate(socket: LiveSocket): Promise<User | undefined> {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const headers = socket.handshake.headers;
    const token =
      typeof auth?.token === "string" ? auth.token : (tokenFromAuthorization(headers.authorization) ?? tokenFromCookie(headers.cookie));
    if (token?.startsWith(API_TOKEN_PREFIX)) return this.options.tokens?.resolve(token);
    return this.options.sessions.resolve(token);
  }

  private onConnection(socket: LiveSocket): void {
    const conn = socket.conn as unknown as EngineConn;
    const buffer = new ClientBuffer(this.options.maxBuffered);
    const gate = new FlushGate(
      {
        // Not drained: engine.io still holds packets, or the transport is sending the last ones.
        busy: () => !conn.transport.writable || (conn.writeBuffer?.length ?? 0) > 0,
        // A browser that does not read backs up engine.io's queue: keep our bounded buffer instead.
        slow: () => backedUp(conn.writeBuffer),
        write: () => this.write(client),
      },
      this.options.throttleMs,
    );
    const client: Client = { socket, buffer, topics: new Set(), gate };
    // A transport is writable again ("ready": a websocket's send completed, a polling request
    // arrived); it is replaced when the connection upgrades from polling to websocket.
    const onReady = () => gate.drained();
    let transport = conn.transport;
    transport.on("ready", onReady);
    conn.on("upgrade", (next) => {
      transport.off("ready", onReady);
      transport = next;
      transport.on("ready", onReady);
    });
    this.clients.set(socket.id, client);
    this.connected.set(this.clients.size);
    // The contract types say what a well-behaved client sends; the hub still checks what arrives.
    socket.on("subscribe", (arg, ack) => this.onSubscribe(client, arg, typeof ack === "function" ? ack : undefined));
    socket.on("unsubscribe", (arg, ack) => {
      const reply = typeof ack === "function" ? ack : undefined;
      const topic = parseTopic(arg);
      if (typeof topic === "string") {
        reply?.({ ok: false, error: topic });
      } else {
        this.removeTopic(client, topic.key);
        reply?.({ ok: true });
      }
    });
    socket.on("disconnect", () => {
      gate.close();
      transport.off("ready", onReady);
      for (const key of client.topics) this.removeTopic(client, key);
      this.clients.delete(socket.id);
      this.connected.set(this.clients.size);
    });
  }

  private onSubscribe(client: Client, arg: unknown, ack: Ack | undefined): void {
    const topic = parseTopic(arg);
    if (typeof topic === "string") {
      ack?.({ ok: false, error: topic });
      return;
    }
    const error = this.checkExists(topic);
    if (error) {
      ack?.({ ok: false, error });
      return;
    }
    client.topics.add(topic.key);
    let set = this.byTopic.get(topic.key);
    if (!set) {
      set = new Set();
      this.byTopic.set(topic.key, set);
    }
    set.add(client);
    this.snapshot(client, topic);
    client.gate.poke();
    ack?.({ ok: true });
  }

  private checkExists(topic: Topic): string | undefined {
    const dir = this.options.directory;
    if (topic.kind === "device" && !dir.device(topic.id)) return `unknown device ${topic.id}`;
    if (topic.kind === "edge" && !dir.edge(topic.id)) return `unknown edge ${topic.id}`;
    if (topic.kind === "site" && !dir.hasSite(topic.id)) return `unknown site ${topic.id}`;
    return undefined;
  }

  /** The current state of what was just subscribed to, so a page renders before the next change. */
  private snapshot(client: Client, topic: Topic): void {
    const dir = this.options.directory;
    if (topic.kind === "device") {
      const d = dir.device(topic.id);
      if (d) client.buffer.pushDevice(d);
      return;
    }
    const now = Date.now();
    let shared = this.snapshots.get(topic.key);
    if (!shared || now - shared.at >= SNAPSHOT_SHARE_MS) {
      shared = {
        at: now,
        devices: dir.devices(topic.kind === "fleet" ? {} : topic.kind === "edge" ? { edge: topic.id } : { site: topic.id }),
      };
      this.snapshots.set(topic.key, shared);
    }
    client.buffer.pushSnapshot(shared.devices);
    for (const e of dir.edges()) {
      if (topic.kind === "fleet" || (topic.kind === "edge" && e.id === topic.id) || (topic.kind === "site" && e.siteId === topic.id)) {
        client.buffer.pushEdge(e);
      }
    }
  }

  private removeTopic(client: Client, key: string): void {
    client.topics.delete(key);
    const set = this.byTopic.get(key);
    set?.delete(client);
    if (set?.size === 0) {
      this.byTopic.delete(key);
      if (key === "fleet") this.fleet.clear();
    }
  }

  private targets(keys: string[]): Set<Client> {
    const out = new Set<Client>();
    for (const key of keys) for (const c of this.byTopic.get(key) ?? []) out.add(c);
    return out;
  }

  private onReadings(e: ReadingsCommitted): void {
    if (this.byTopic.size === 0) return;
    const wide = this.targets([`edge:${e.edgeId}`, `site:${e.siteId}`]);
    const touched = new Set<Client>();
    for (const r of e.readings) {
      const live = { deviceId: r.deviceId, seq: r.seq, ts: r.ts, values: r.values };
      const direct = this.byTopic.get(`device:${r.deviceId}`);
      const targets = direct ? new Set([...wide, ...direct]) : wide;
      for (const c of targets) {
        const dropped = c.buffer.pushReading(live);
        if (dropped > 0) this.dropped.inc(dropped);
        touched.add(c);
      }
    }
    for (const c of touched) c.gate.poke();
  }

  private onDevice(d: DeviceSummary): void {
    const changed = this.fleet.offer(d, this.byTopic.has("fleet"));
    if (changed) this.snapshots.clear();
    // Edge and site pages get the readings of their devices: a summary that only a reading
    // changed tells them nothing new (at 1,000 devices at 1 Hz it doubled what they were sent).
    const keys = changed ? [`device:${d.id}`, `edge:${d.edgeId}`, `site:${d.siteId}`] : [`device:${d.id}`];
    for (const c of this.targets(keys)) {
      c.buffer.pushDevice(d);
      c.gate.poke();
    }
  }

  /** Hands this tick's device summaries to every fleet page (fleet-digest.ts). */
  private fleetTick(): void {
    const now = Date.now();
    for (const [key, shared] of this.snapshots) if (now - shared.at >= SNAPSHOT_SHARE_MS) this.snapshots.delete(key);
    const pages = this.byTopic.get("fleet");
    if (!pages || this.fleet.pending === 0) return;
    const summaries = this.fleet.take(FLEET_SUMMARIES_PER_TICK);
    for (const c of pages) {
      for (const d of summaries) c.buffer.pushDevice(d);
      c.gate.poke();
    }
  }

  private onEdge(e: EdgeSummary): void {
    for (const c of this.targets(["fleet", `edge:${e.id}`, `site:${e.siteId}`])) {
      c.buffer.pushEdge(e);
      c.gate.poke();
    }
  }

  private onCommand(cmd: CommandView): void {
    const siteId = this.options.directory.device(cmd.deviceId)?.siteId;
    const keys = ["fleet", `device:${cmd.deviceId}`, `edge:${cmd.edgeId}`];
    if (siteId) keys.push(`site:${siteId}`);
    for (const c of this.targets(keys)) {
      c.buffer.pushCommand(cmd);
      c.gate.poke();
    }
  }

  /** Alerts go to every signed-in client: the toast and the alert badge show on every page. */
  private onAlert(a: AlertView): void {
    for (const c of this.clients.values()) {
      c.buffer.pushAlert(a);
      c.gate.poke();
    }
  }

  /** Writes one client's buffer (its gate decided it is time). */
  private write(c: Client): void {
    if (c.buffer.empty) return;
    const out = c.buffer.drain();
    if (out.readings.length > 0) emitArray(c.socket, { name: "readings", items: out.readings });
    for (const list of out.snapshots) emitArray(c.socket, { name: "devices", items: list }, true);
    // One packet for all changed devices: a fleet screen of 1,000 devices at 1 Hz would
    // otherwise cost 1,000 packets per client per flush.
    if (out.devices.length > 0) emitArray(c.socket, { name: "devices", items: out.devices });
    for (const e of out.edges) c.socket.emit("edge", e);
    for (const cmd of out.commands) c.socket.emit("command", cmd);
    for (const a of out.alerts) c.socket.emit("alert", a);
  }
}
