/**
 * The live connection: one socket.io client per session. Pages subscribe to topics
 * (`{device}`, `{edge}`, `{site}`, `{fleet:true}`); subscriptions are reference-counted and
 * re-sent after every reconnect, because the server forgets them with the old socket.
 */
import type { ClientToServerEvents, Device, ServerToClientEvents, Topic } from "@bitvelocity/api";
import { io, type Socket } from "socket.io-client";

export type { Topic };

type Payload<K extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[K]>[0];

/** What pages listen to: the server's events, with the `devices` batch handed out one device at a time. */
export interface LiveEvents {
  readings: Payload<"readings">;
  device: Device;
  edge: Payload<"edge">;
  command: Payload<"command">;
  alert: Payload<"alert">;
}

export type LinkState = "connecting" | "live" | "down";
type Handler<T> = (payload: T) => void;

const topicKey = (t: Topic): string => JSON.stringify(t);

class Live {
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private readonly subs = new Map<string, { topic: Topic; refs: number }>();
  private readonly handlers = new Map<keyof LiveEvents, Set<Handler<never>>>();
  private readonly stateListeners = new Set<(s: LinkState) => void>();
  private retryTimer = 0;
  /** Asked when the server refuses the handshake: true = try again, false = give up (logged out). */
  private rejected: () => Promise<boolean> = async () => true;
  state: LinkState = "down";

  setRejectedHandler(fn: () => Promise<boolean>): void {
    this.rejected = fn;
  }

  start(): void {
    if (this.socket) return;
    const socket = io({ path: "/socket.io", withCredentials: true, transports: ["websocket", "polling"] });
    this.socket = socket;
    this.setState("connecting");
    socket.on("connect", () => {
      this.setState("live");
      for (const { topic } of this.subs.values()) this.emitSubscribe(topic);
    });
    socket.on("disconnect", (reason) => {
      this.setState("connecting");
      // The server ended the connection (logout elsewhere, account disabled): socket.io does not
      // reconnect by itself; ask whether the session still holds, then reconnect or sign out.
      if (reason !== "io server disconnect") return;
      void this.rejected().then((retry) => {
        if (retry && this.socket === socket) socket.connect();
      });
    });
    socket.on("connect_error", () => {
      this.setState("down");
      // A refusal by the server's auth middleware is final for socket.io (no auto-reconnect):
      // ask whether the session is still valid, then retry by hand.
      if (socket.active) return;
      void this.rejected().then((retry) => {
        if (!retry || this.socket !== socket) return;
        window.clearTimeout(this.retryTimer);
        this.retryTimer = window.setTimeout(() => {
          if (this.socket === socket) socket.connect();
        }, 3000);
      });
    });
    socket.on("readings", (payload) => this.dispatch("readings", payload));
    socket.on("edge", (payload) => this.dispatch("edge", payload));
    socket.on("command", (payload) => this.dispatch("command", payload));
    socket.on("alert", (payload) => this.dispatch("alert", payload));
    // Device summaries arrive batched (one packet per flush); pages handle them one by one.
    socket.on("devices", (batch) => {
      if (Array.isArray(batch)) for (const d of batch) this.dispatch("device", d);
    });
  }

  stop(): void {
    window.clearTimeout(this.retryTimer);
    this.socket?.disconnect();
    this.socket = null;
    this.subs.clear();
    this.setState("down");
  }

  /** Subscribe to a topic; returns the function that drops this subscription. */
  subscribe(topic: Topic): () => void {
    const key = topicKey(topic);
    const entry = this.subs.get(key);
    if (entry) entry.refs++;
    else {
      this.subs.set(key, { topic, refs: 1 });
      if (this.socket?.connected) this.emitSubscribe(topic);
    }
    let dropped = false;
    return () => {
      if (dropped) return;
      dropped = true;
      const e = this.subs.get(key);
      if (!e) return;
      if (--e.refs > 0) return;
      this.subs.delete(key);
      if (this.socket?.connected) this.socket.emit("unsubscribe", topic);
    };
  }

  on<K extends keyof LiveEvents>(name: K, fn: Handler<LiveEvents[K]>): () => void {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(fn as Handler<never>);
    return () => set.delete(fn as Handler<never>);
  }

  onState(fn: (s: LinkState) => void): () => void {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  private emitSubscribe(topic: Topic): void {
    this.socket?.emit("subscribe", topic, (ack) => {
      if (ack && !ack.ok) console.warn("live: subscribe refused", topic, ack.error);
    });
  }

  private dispatch<K extends keyof LiveEvents>(name: K, payload: LiveEvents[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of set) {
      try {
        (fn as Handler<unknown>)(payload);
      } catch (err) {
        // A broken view must not stop the others from updating.
        console.error(`live: ${name} handler failed`, err);
      }
    }
  }

  private setState(s: LinkState): void {
    if (this.state === s) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }
}

export const live = new Live();
