/**
 * The `/chat` socket.io namespace on the cloud's socket.io server (the live module's; its Redis
 * adapter, when configured, carries broadcasts to the sockets on the other nodes).
 *
 * A socket joins `user:<name>` (mentions, private notices) when it connects and `room:<id>`
 * when it syncs a room it may see. The join happens before the history is read, so a change
 * committed meanwhile arrives live or in the answer (or both; the client drops the copy).
 */
import {
  type ChatClientToServerEvents,
  type ChatError,
  type ChatPresence,
  type ChatServerToClientEvents,
  ClientId,
  MessageText,
  type PresenceState,
  RoomId,
} from "@bitvelocity/api";
import type { Logger } from "@bitvelocity/common";
import type { Namespace, Server, Socket } from "socket.io";
import { z } from "zod";
import {
  API_TOKEN_PREFIX,
  type ApiTokenStore,
  type Principal,
  type SessionStore,
  tokenFromAuthorization,
  tokenFromCookie,
} from "../identity/index.js";
import { HttpError } from "../platform/http.js";
import type { ChatDelivery, ChatService } from "./chat-service.js";

type SocketData = { user: Principal; away?: boolean };
type ChatSocket = Socket<ChatClientToServerEvents, ChatServerToClientEvents, Record<string, never>, SocketData>;
type ChatNamespace = Namespace<ChatClientToServerEvents, ChatServerToClientEvents, Record<string, never>, SocketData>;

const SyncReq = z.strictObject({ roomId: RoomId, after: z.number().int().min(0), limit: z.number().int().min(1).max(500).optional() });
const SendReq = z.strictObject({ roomId: RoomId, clientId: ClientId, text: MessageText });
const EditReq = z.strictObject({ roomId: RoomId, seq: z.number().int().min(1), text: MessageText });
const RemoveReq = z.strictObject({ roomId: RoomId, seq: z.number().int().min(1) });
const ReadReq = z.strictObject({ roomId: RoomId, seq: z.number().int().min(0) });
const TypingReq = z.strictObject({ roomId: RoomId });
const AwayReq = z.strictObject({ away: z.boolean() });
const PresenceReq = z.strictObject({});

const roomKey = (id: string) => `room:${id}`;
const userKey = (name: string) => `user:${name}`;

export interface ChatSocketOptions {
  readonly sessions: SessionStore;
  readonly tokens: ApiTokenStore;
  readonly logger: Logger;
}

function errorOf(err: unknown): ChatError {
  if (err instanceof HttpError) return { code: err.code, message: err.message };
  if (err instanceof z.ZodError) {
    return { code: "VALIDATION_FAILED", message: err.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
  }
  return { code: "INTERNAL", message: "internal error" };
}

export class ChatSocketServer implements ChatDelivery {
  readonly nsp: ChatNamespace;
  private readonly offs: (() => void)[] = [];
  /** Requests being answered: stop waits for them, so their broadcasts leave before the adapter closes. */
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    io: Server,
    private readonly chat: ChatService,
    private readonly options: ChatSocketOptions,
  ) {
    this.nsp = io.of("/chat") as unknown as ChatNamespace;
    this.nsp.use((socket, next) => {
      this.authenticate(socket)
        .then((user) => {
          if (!user) return next(new Error("unauthorized"));
          socket.data.user = user;
          next();
        })
        .catch(() => next(new Error("unauthorized")));
    });
    this.nsp.on("connection", (socket) => this.onConnection(socket));
    // A logout or a revoked token ends the chat connection too.
    const revalidate = () => {
      for (const socket of this.nsp.sockets.values()) {
        this.authenticate(socket)
          .then((user) => (user ? undefined : socket.disconnect(true)))
          .catch(() => {});
      }
    };
    this.offs.push(options.sessions.onRevoked(revalidate), options.tokens.onRevoked(revalidate));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    // This node's sockets only: with the Redis adapter, disconnectSockets reaches every node.
    this.nsp.local.disconnectSockets(true);
    this.nsp.removeAllListeners();
    await Promise.allSettled([...this.inflight]);
  }

  message(message: Parameters<ChatDelivery["message"]>[0]): void {
    this.nsp.to(roomKey(message.roomId)).emit("message", message);
  }

  mention(username: string, mention: Parameters<ChatDelivery["mention"]>[1]): void {
    this.nsp.to(userKey(username)).emit("mention", mention);
  }

  notice(username: string, notice: Parameters<ChatDelivery["notice"]>[1]): void {
    this.nsp.to(userKey(username)).emit("notice", notice);
  }

  private async authenticate(socket: ChatSocket): Promise<Principal | undefined> {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const headers = socket.handshake.headers;
    const token =
      typeof auth?.token === "string" ? auth.token : (tokenFromAuthorization(headers.authorization) ?? tokenFromCookie(headers.cookie));
    if (token?.startsWith(API_TOKEN_PREFIX)) {
      const user = await this.options.tokens.resolve(token);
      return user && { ...user, via: "token" };
    }
    const user = await this.options.sessions.resolve(token);
    return user && { ...user, via: "session" };
  }

  /** A user's state over all their sockets on every node (fetchSockets goes through the adapter). */
  private async presenceOf(username: string): Promise<PresenceState> {
    const sockets = await this.nsp.in(userKey(username)).fetchSockets();
    if (sockets.length === 0) return "offline";
    return sockets.every((s) => s.data.away) ? "away" : "online";
  }

  private announce(username: string): void {
    // Not while stopping: the adapter's Redis connections are about to close.
    if (this.closed) return;
    const done = this.presenceOf(username)
      .then((state) => {
        if (!this.closed) this.nsp.emit("presence", { user: username, state });
      })
      .catch((err: unknown) => this.options.logger.warn({ err }, "presence lookup failed"))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private async everyone(): Promise<ChatPresence[]> {
    const byUser = new Map<string, boolean>();
    for (const s of await this.nsp.fetchSockets()) {
      const name = s.data.user?.username;
      if (name) byUser.set(name, (byUser.get(name) ?? false) || !s.data.away);
    }
    return [...byUser].map(([user, active]) => ({ user, state: active ? "online" : "away" }));
  }

  private onConnection(socket: ChatSocket): void {
    const user = socket.data.user;
    void Promise.resolve(socket.join(userKey(user.username))).then(() => this.announce(user.username));
    socket.on("disconnect", () => this.announce(user.username));
    socket.on("away", (arg: unknown) => {
      const req = AwayReq.safeParse(arg);
      if (!req.success || Boolean(socket.data.away) === req.data.away) return;
      socket.data.away = req.data.away;
      this.announce(user.username);
    });
    // Every request answers through its ack: {ok: true, …} or {ok: false, error: {code, message}}.
    const handle = <T>(schema: z.ZodType<T>, work: (req: T) => Promise<object>) => {
      return (arg: unknown, ack: unknown) => {
        const reply = typeof ack === "function" ? (ack as (r: unknown) => void) : () => {};
        const done = Promise.resolve()
          .then(() => work(schema.parse(arg)))
          .then((body) => reply({ ok: true, ...body }))
          .catch((err: unknown) => {
            const error = errorOf(err);
            if (error.code === "INTERNAL") this.options.logger.error({ err }, "chat request failed");
            reply({ ok: false, error });
          })
          .finally(() => this.inflight.delete(done));
        this.inflight.add(done);
      };
    };
    socket.on(
      "sync",
      handle(SyncReq, async (req) => {
        await this.chat.access(user, req.roomId);
        await socket.join(roomKey(req.roomId));
        return this.chat.history(user, req.roomId, { after: req.after, limit: req.limit ?? 200 });
      }),
    );
    socket.on(
      "send",
      handle(SendReq, (req) => this.chat.send(user, req.roomId, req.clientId, req.text)),
    );
    socket.on(
      "edit",
      handle(EditReq, async (req) => ({ message: await this.chat.edit(user, req.roomId, req.seq, req.text) })),
    );
    socket.on(
      "remove",
      handle(RemoveReq, async (req) => ({ message: await this.chat.remove(user, req.roomId, req.seq) })),
    );
    socket.on(
      "read",
      handle(ReadReq, async (req) => ({ room: await this.chat.markRead(user, req.roomId, req.seq) })),
    );
    socket.on(
      "presence",
      handle(PresenceReq, async () => ({ users: await this.everyone() })),
    );
    socket.on("typing", (arg: unknown) => {
      const req = TypingReq.safeParse(arg);
      // Only to a room this socket synced (so it was allowed in).
      if (req.success && socket.rooms.has(roomKey(req.data.roomId))) {
        socket.to(roomKey(req.data.roomId)).emit("typing", { roomId: req.data.roomId, user: user.username });
      }
    });
  }
}
