/**
 * A `/chat` client over socket.io-client with the contract's ChatStream (resume, order, no
 * duplicates): what the tests and the delivery benchmark drive. The dashboard has its own
 * (cloud/web/src/lib/chat.ts) over the same ChatStream.
 */
import {
  type ChatClientToServerEvents,
  type ChatHistory,
  type ChatMention,
  type ChatMessage,
  type ChatNotice,
  type ChatPresence,
  type ChatReply,
  type ChatServerToClientEvents,
  ChatStream,
  type SendResult,
} from "@bitvelocity/api";
import { io, type Socket } from "socket.io-client";

export type ChatClientSocket = Socket<ChatServerToClientEvents, ChatClientToServerEvents>;

export class ChatClient {
  readonly socket: ChatClientSocket;
  readonly stream: ChatStream;
  /** Every change applied, in the order applied. */
  readonly applied: ChatMessage[] = [];
  readonly mentions: ChatMention[] = [];
  readonly notices: ChatNotice[] = [];
  /** The latest presence heard per user. */
  readonly presence = new Map<string, ChatPresence["state"]>();
  readonly errors: { roomId: string; code: string; message: string }[] = [];
  private sent = 0;

  constructor(
    url: string,
    token: string,
    private readonly name = "client",
    options: { reconnectionDelay?: number } = {},
  ) {
    this.socket = io(`${url}/chat`, {
      auth: { token },
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: options.reconnectionDelay ?? 100,
      reconnectionDelayMax: 500,
      randomizationFactor: 0.5,
    });
    this.stream = new ChatStream(
      (roomId, after) => this.request<ChatHistory>("sync", { roomId, after }),
      (m) => this.applied.push(m),
      (roomId, e) => this.errors.push({ roomId, ...e }),
    );
    this.socket.on("message", (m) => this.stream.receive(m));
    this.socket.on("mention", (m) => this.mentions.push(m));
    this.socket.on("notice", (n) => this.notices.push(n));
    this.socket.on("presence", (p) => this.presence.set(p.user, p.state));
    // Every (re)connect resumes every followed room from its cursor.
    this.socket.on("connect", () => void this.stream.resync());
    // A node that shuts down disconnects its sockets itself, and socket.io-client does not
    // reconnect after a server-side disconnect: a restarting node would lose its clients.
    this.socket.on("disconnect", (reason) => {
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 200 + Math.random() * 300);
    });
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("connect_error", reject);
    });
  }

  follow(roomId: string, after = 0): Promise<void> {
    return this.stream.follow(roomId, after);
  }

  /** One request with an ack; a disconnect or timeout rejects. */
  request<T extends object>(
    event: "sync" | "send" | "edit" | "remove" | "read" | "presence",
    arg: object,
    timeoutMs = 3000,
  ): Promise<ChatReply<T>> {
    // The event maps type each event's ack; this one helper serves them all.
    const s = this.socket.timeout(timeoutMs) as unknown as { emitWithAck(e: string, a: object): Promise<ChatReply<T>> };
    return s.emitWithAck(event, arg);
  }

  /**
   * Sends until the server acknowledges, retrying with the same client id through disconnects:
   * the message exists once whatever happened to the earlier attempts.
   */
  async send(roomId: string, text: string, clientId = `${this.name}-${++this.sent}`, deadlineMs = 20_000): Promise<ChatReply<SendResult>> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      try {
        if (!this.socket.connected) await this.connected();
        const reply = await this.request<SendResult>("send", { roomId, clientId, text }, 2000);
        if (reply.ok && reply.message) this.stream.receive(reply.message);
        return reply;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The messages as a reader sees them now (latest state per seq), in seq order. */
  view(roomId: string): ChatMessage[] {
    const bySeq = new Map<number, ChatMessage>();
    for (const m of this.applied) if (m.roomId === roomId) bySeq.set(m.seq, m);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  close(): void {
    this.socket.disconnect();
  }
}
