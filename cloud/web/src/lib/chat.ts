/**
 * The chat connection: one socket.io client on the `/chat` namespace per session, with the
 * contract's ChatStream (every change once, in order; resume from the cursor after a reconnect).
 * Pages follow rooms and listen to changes, mentions, notices and typing.
 */
import type { ChatClientToServerEvents, ChatHistory, ChatMessage, ChatReply, ChatServerToClientEvents, SendResult } from "@bitvelocity/api";
import { ChatStream } from "@bitvelocity/api/chat-client";
import { io, type Socket } from "socket.io-client";

type Events = {
  message: ChatMessage;
  mention: Parameters<ChatServerToClientEvents["mention"]>[0];
  notice: Parameters<ChatServerToClientEvents["notice"]>[0];
  typing: Parameters<ChatServerToClientEvents["typing"]>[0];
  presence: Parameters<ChatServerToClientEvents["presence"]>[0];
};

class Chat {
  private socket: Socket<ChatServerToClientEvents, ChatClientToServerEvents> | null = null;
  private readonly handlers = new Map<keyof Events, Set<(p: never) => void>>();
  private sent = 0;
  /** Who is online or away now (absent = offline). */
  readonly presence = new Map<string, "online" | "away">();
  readonly stream = new ChatStream(
    (roomId, after) => this.request<ChatHistory>("sync", { roomId, after }),
    (m) => this.fire("message", m),
  );

  start(): void {
    if (this.socket) return;
    const socket = io("/chat", { path: "/socket.io", withCredentials: true, transports: ["websocket", "polling"] });
    this.socket = socket;
    socket.on("connect", () => {
      void this.stream.resync();
      void this.request<{ users: { user: string; state: string }[] }>("presence", {})
        .then((reply) => {
          if (!reply.ok) return;
          this.presence.clear();
          for (const u of reply.users) if (u.state !== "offline") this.presence.set(u.user, u.state === "away" ? "away" : "online");
          for (const u of reply.users) this.fire("presence", { user: u.user, state: u.state === "away" ? "away" : "online" });
        })
        .catch(() => {});
      socket.emit("away", { away: document.visibilityState === "hidden" });
    });
    document.addEventListener("visibilitychange", () => this.socket?.emit("away", { away: document.visibilityState === "hidden" }));
    socket.on("presence", (p) => {
      if (p.state === "offline") this.presence.delete(p.user);
      else this.presence.set(p.user, p.state);
      this.fire("presence", p);
    });
    // A node that restarts disconnects its sockets; socket.io-client does not retry that by itself.
    socket.on("disconnect", (reason) => {
      if (reason === "io server disconnect") window.setTimeout(() => this.socket === socket && socket.connect(), 500 + Math.random() * 500);
    });
    socket.on("message", (m) => this.stream.receive(m));
    socket.on("mention", (m) => this.fire("mention", m));
    socket.on("notice", (n) => this.fire("notice", n));
    socket.on("typing", (t) => this.fire("typing", t));
  }

  stop(): void {
    this.socket?.disconnect();
    this.socket = null;
  }

  on<K extends keyof Events>(name: K, fn: (payload: Events[K]) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(fn as (p: never) => void);
    return () => set.delete(fn as (p: never) => void);
  }

  follow(roomId: string, after: number): Promise<void> {
    return this.stream.follow(roomId, after);
  }

  /** Sends with a fresh client id, retrying with the same id until the server answers. */
  async send(roomId: string, text: string): Promise<ChatReply<SendResult>> {
    const clientId = `web-${Date.now().toString(36)}-${(++this.sent).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.request<SendResult>("send", { roomId, clientId, text });
        if (reply.ok && reply.message) this.stream.receive(reply.message);
        return reply;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => window.setTimeout(r, 500 * (attempt + 1)));
      }
    }
  }

  typing(roomId: string): void {
    this.socket?.emit("typing", { roomId });
  }

  request<T extends object>(event: "sync" | "send" | "edit" | "remove" | "read" | "presence", arg: object): Promise<ChatReply<T>> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error("chat is not connected"));
    // One helper for every request; the contract types each ack.
    const s = socket.timeout(5000) as unknown as { emitWithAck(e: string, a: object): Promise<ChatReply<T>> };
    return s.emitWithAck(event, arg);
  }

  private fire<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const fn of this.handlers.get(name) ?? []) (fn as (p: Events[K]) => void)(payload);
  }
}

export const chat = new Chat();
