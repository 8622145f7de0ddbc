/**
 * The live module: readings, devices, edges, commands and alerts fanned out to browsers over
 * socket.io (and SSE for a single device), across cloud nodes through Redis when configured.
 */
import type { Socket } from "node:net";
import type { ApiTokenStore, SessionStore } from "../identity/index.js";
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { LiveHub } from "./live-hub.js";
import { SseFanout } from "./sse-stream.js";
import type { LiveDirectory } from "./subscriptions.js";

export interface LiveModule extends CloudModule {
  readonly hub: LiveHub;
  readonly sse: SseFanout;
}

export interface LivePorts {
  /** Who a connection is (the identity module's stores). */
  readonly auth: () => { readonly sessions: SessionStore; readonly tokens: ApiTokenStore };
  /** What a subscription may name (fleet's registry). */
  readonly directory: () => LiveDirectory;
}

export function liveModule(ports: LivePorts): LiveModule {
  let parts: { hub: LiveHub; sse: SseFanout; connections: Set<Socket> } | undefined;
  const get = () => started(parts, "live", "the hub");
  return {
    name: "live",
    migrations: {},
    publishes: [],
    consumes: ["readingsCommitted", "deviceUpdated", "edgeUpdated", "commandUpdated", "alertUpdated"],
    async start(ctx: ModuleContext) {
      const { config, bus, registry } = ctx;
      const sse = new SseFanout({ bus, throttleMs: config.live.throttle_ms, maxBuffered: config.live.max_buffered, registry });
      const { sessions, tokens } = ports.auth();
      const hub = new LiveHub(ctx.http, {
        bus,
        sessions,
        tokens,
        directory: ports.directory(),
        throttleMs: config.live.throttle_ms,
        maxBuffered: config.live.max_buffered,
        allowedOrigins: config.http.allowed_origins,
        registry,
        logger: ctx.logger,
      });
      // Upgraded (websocket) connections are not tracked by the HTTP server; a browser that stopped
      // reading would hold the close handshake for 30 s, so stop destroys every connection.
      const connections = new Set<Socket>();
      ctx.http.on("connection", (socket: Socket) => {
        connections.add(socket);
        socket.once("close", () => connections.delete(socket));
      });
      parts = { hub, sse, connections };
      if (config.live.redis_url) {
        await hub.joinCluster({
          redisUrl: config.live.redis_url,
          channel: config.live.redis_channel,
          logger: ctx.logger.child({ part: "cluster" }),
        });
      }
    },
    async stop() {
      const p = parts;
      parts = undefined;
      p?.sse.close();
      if (!p) return;
      // Closing socket.io also closes the HTTP server it is attached to.
      const closed = p.hub.close();
      for (const socket of p.connections) socket.destroy();
      await closed;
    },
    get hub() {
      return get().hub;
    },
    get sse() {
      return get().sse;
    },
  };
}
