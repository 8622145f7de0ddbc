/**
 * A TCP proxy for fault injection between two real parties (edge ↔ cloud gRPC). The mode can be
 * switched at run time:
 * - `pass`: bytes flow both ways.
 * - `refuse`: the peer is unreachable: live connections are reset, new ones are reset at accept.
 * - `drop`: live connections are destroyed once; new connections are accepted and destroyed as
 *   soon as they carry data (a link that flaps mid-handshake).
 * - `stall`: a black hole: nothing is forwarded either way but every socket stays open. Sockets are
 *   paused, not drained, so when the mode goes back to `pass` the held bytes flow again, as after a
 *   TCP retransmission recovers; until then only keepalive can tell the link is dead. A side that
 *   closes meanwhile is not reported to the other one (a peer that lost power) until the stall ends.
 * - `half-open`: one direction flows, the other (`discard`, default the replies to the client) is
 *   read and silently thrown away. The byte stream is then corrupt, so such connections are
 *   destroyed when the mode changes again.
 * The target can be changed (a restarted server on a new port); live connections keep their peer.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export type ProxyMode = "pass" | "refuse" | "drop" | "stall" | "half-open";
/** Which way bytes go: from the client to the target, or back. */
export type Direction = "to-target" | "to-client";

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes were discarded: the stream is corrupt and must not be resumed. */
  tainted: boolean;
  /** One side closed while stalled; the other side was not told (nothing crosses a black hole). */
  broken: boolean;
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  destroyed: number;
  bytesToTarget: number;
  bytesToClient: number;
  discardedBytes: number;
}

export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = "pass";
  private discard: Direction = "to-client";
  private boundPort = 0;
  readonly stats: ProxyStats = { accepted: 0, refused: 0, destroyed: 0, bytesToTarget: 0, bytesToClient: 0, discardedBytes: 0 };

  constructor(private target: { host: string; port: number }) {
    this.server = createServer((socket) => this.onConnection(socket));
  }

  /** Binds (port 0 picks a free one) and resolves to the bound port. */
  listen(port = 0, host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        this.boundPort = typeof address === "object" && address ? address.port : 0;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  /** Connections currently proxied. */
  get connections(): number {
    return this.pairs.size;
  }

  /** New connections go to this target; live ones keep theirs. */
  setTarget(target: { host: string; port: number }): void {
    this.target = target;
  }

  setMode(mode: ProxyMode, options: { discard?: Direction } = {}): void {
    const previous = this.current;
    this.current = mode;
    this.discard = options.discard ?? "to-client";
    if (previous === "half-open") for (const pair of this.pairs) if (pair.tainted) this.destroy(pair);
    if (previous === "stall") for (const pair of this.pairs) if (pair.broken) this.destroy(pair);
    switch (mode) {
      case "refuse":
      case "drop":
        for (const pair of this.pairs) this.destroy(pair);
        break;
      case "stall":
        for (const pair of this.pairs) {
          pair.client.pause();
          pair.upstream.pause();
        }
        break;
      default:
        for (const pair of this.pairs) {
          pair.client.resume();
          pair.upstream.resume();
        }
    }
  }

  /** Destroys every connection and stops listening. */
  close(): Promise<void> {
    for (const pair of this.pairs) this.destroy(pair);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    this.stats.accepted += 1;
    if (this.current === "refuse") {
      this.stats.refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, tainted: false, broken: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (chunk: Buffer) => this.forward(pair, "to-target", chunk));
    upstream.on("data", (chunk: Buffer) => this.forward(pair, "to-client", chunk));
    const lost = (): void => {
      if (this.current === "stall") pair.broken = true;
      else this.destroy(pair);
    };
    for (const socket of [client, upstream]) {
      socket.on("error", lost);
      socket.on("close", lost);
    }
    // A half-closed side is passed on, unless bytes that way are being held or discarded.
    client.on("end", () => this.passEnd(pair, "to-target"));
    upstream.on("end", () => this.passEnd(pair, "to-client"));
    if (this.current === "stall") {
      client.pause();
      upstream.pause();
    }
  }

  private forward(pair: Pair, direction: Direction, chunk: Buffer): void {
    const [from, to] = direction === "to-target" ? [pair.client, pair.upstream] : [pair.upstream, pair.client];
    switch (this.current) {
      case "drop":
      case "refuse":
        this.destroy(pair);
        return;
      case "stall":
        // Paused sockets may still deliver a chunk already read; hold it in the stream.
        from.pause();
        from.unshift(chunk);
        return;
      case "half-open":
        if (direction === this.discard) {
          this.stats.discardedBytes += chunk.length;
          pair.tainted = true;
          return;
        }
        break;
      default:
        break;
    }
    if (direction === "to-target") this.stats.bytesToTarget += chunk.length;
    else this.stats.bytesToClient += chunk.length;
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => {
        if (this.current !== "stall") from.resume();
      });
    }
  }

  private passEnd(pair: Pair, direction: Direction): void {
    if (this.current === "stall" || (this.current === "half-open" && direction === this.discard)) return;
    (direction === "to-target" ? pair.upstream : pair.client).end();
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    this.stats.destroyed += 1;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
