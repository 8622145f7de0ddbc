/**
 * Chat (DESIGN.md §8): rooms per site, per order and per pair of users; messages with a
 * server-assigned per-room `seq`. REST serves the room list and history; the `/chat` socket.io
 * namespace delivers messages live and resumes from a cursor after a reconnect (chat-stream.ts).
 *
 * Every change to a room (a new message, an edit, a delete) takes the room's next number: a new
 * message's `rev` equals its `seq`, an edit or delete moves the message's `rev` to a new number.
 * A client's cursor per room is the highest `rev` it has applied.
 */
import { z } from "zod";
import { EpochMs, intQuery, route } from "./common.js";

/** Longest message text, in characters. */
export const MAX_MESSAGE_CHARS = 4000;

export const RoomKind = z.enum(["site", "order", "direct"]);
export type RoomKind = z.infer<typeof RoomKind>;

/** `site:<siteId>`, `order:<orderId>` or `dm:<userA>:<userB>` (names sorted). */
export const RoomId = z
  .string()
  .min(3)
  .max(200)
  .regex(/^(site|order|dm):[A-Za-z0-9_.:-]+$/, "expected site:ID, order:ID or dm:USER:USER");

export const ChatRoom = z.object({
  id: z.string(),
  kind: RoomKind,
  name: z.string(),
  /** The highest number taken in the room (messages, edits, deletes). */
  lastSeq: z.number().int(),
  /** Messages by others after this user's read marker. */
  unread: z.number().int(),
  /** This user's read marker (a seq). */
  readSeq: z.number().int(),
  /** For a direct room: the two users. */
  members: z.array(z.string()).nullable(),
});
export type ChatRoom = z.infer<typeof ChatRoom>;

export const ChatMessage = z.object({
  roomId: z.string(),
  seq: z.number().int(),
  /** The room number of this message's latest change (equal to seq until edited or deleted). */
  rev: z.number().int(),
  /** The sender's own id for the message: a retried send with it never makes a second message. */
  clientId: z.string(),
  author: z.string(),
  /** "user" for people, "bot" for what the bot and ChatOps post. */
  kind: z.enum(["user", "bot"]),
  /** Plain text; clients render it as text (never as HTML) and turn references into links. */
  text: z.string(),
  /** Users named with @name who may see the room. */
  mentions: z.array(z.string()),
  createdAt: EpochMs,
  editedAt: EpochMs.nullable(),
  /** A deleted message keeps its place (tombstone); its text is empty. */
  deleted: z.boolean(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ClientId = z
  .string("expected a client message id")
  .min(1, "expected a client message id")
  .max(64, "a client message id has at most 64 characters")
  .regex(/^[A-Za-z0-9_.:-]+$/, "a client message id is letters, digits and _.:-");

export const MessageText = z
  .string("expected the message text")
  .refine((t) => t.trim().length > 0, "the message is empty")
  .refine((t) => t.length <= MAX_MESSAGE_CHARS, `a message has at most ${MAX_MESSAGE_CHARS} characters`);

export const SendMessageBody = z.strictObject({ clientId: ClientId, text: MessageText });
export type SendMessageBody = z.infer<typeof SendMessageBody>;

export const EditMessageBody = z.strictObject({ text: MessageText });

export const ReadBody = z.strictObject({ seq: z.number().int().min(0) });

export const DirectRoomBody = z.strictObject({ user: z.string().min(1).max(64) });

/** `before`: messages with a smaller seq (newest first page when absent); `after`: changes after this rev. */
export const HistoryQuery = z.object({
  before: intQuery(1, Number.MAX_SAFE_INTEGER).optional(),
  after: intQuery(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: intQuery(1, 200).optional(),
});

/** What a slash command answers privately (a refusal, help, a problem with the arguments). */
export const ChatNotice = z.object({ roomId: z.string(), text: z.string(), code: z.string() });
export type ChatNotice = z.infer<typeof ChatNotice>;

export const SendResult = z.object({ message: ChatMessage.nullable(), notice: ChatNotice.nullable() });
export type SendResult = z.infer<typeof SendResult>;

const HistoryResponse = z.object({
  messages: z.array(ChatMessage),
  /** True when older (before) or further (after) messages remain. */
  more: z.boolean(),
  lastSeq: z.number().int(),
});
export type ChatHistory = z.infer<typeof HistoryResponse>;

export const chatRoutes = {
  rooms: route({
    method: "get",
    path: "/api/chat/rooms",
    summary: "The chat rooms this user may see, with unread counts",
    status: 200,
    response: z.object({ rooms: z.array(ChatRoom) }),
  }),
  direct: route({
    method: "post",
    path: "/api/chat/direct",
    summary: "Open (or find) the direct room with another user",
    body: DirectRoomBody,
    status: 200,
    response: z.object({ room: ChatRoom }),
  }),
  history: route({
    method: "get",
    path: "/api/chat/rooms/:id/messages",
    summary: "A page of a room's messages by seq (before: older, newest first page by default; after: changes since a rev)",
    query: HistoryQuery,
    status: 200,
    response: HistoryResponse,
  }),
  send: route({
    method: "post",
    path: "/api/chat/rooms/:id/messages",
    summary: "Post a message or a slash command (idempotent per clientId)",
    body: SendMessageBody,
    status: 200,
    response: SendResult,
  }),
  edit: route({
    method: "put",
    path: "/api/chat/rooms/:id/messages/:seq",
    summary: "Edit one's own message",
    body: EditMessageBody,
    status: 200,
    response: z.object({ message: ChatMessage }),
  }),
  remove: route({
    method: "delete",
    path: "/api/chat/rooms/:id/messages/:seq",
    summary: "Delete one's own message (admins: any); it stays as a tombstone",
    status: 200,
    response: z.object({ message: ChatMessage }),
  }),
  read: route({
    method: "post",
    path: "/api/chat/rooms/:id/read",
    summary: "Move this user's read marker",
    body: ReadBody,
    status: 200,
    response: z.object({ room: ChatRoom }),
  }),
};

/** A refused socket request: the same code and message the REST API would give. */
export type ChatError = { code: string; message: string };
export type ChatReply<T> = ({ ok: true } & T) | { ok: false; error: ChatError };

export interface ChatTyping {
  roomId: string;
  user: string;
}

export interface ChatMention {
  roomId: string;
  seq: number;
  by: string;
  text: string;
}

export type PresenceState = "online" | "away" | "offline";

export interface ChatPresence {
  user: string;
  state: PresenceState;
}

/** What the `/chat` namespace pushes. */
export interface ChatServerToClientEvents {
  /** A new, edited or deleted message in a room this socket synced. */
  message: (message: ChatMessage) => void;
  typing: (typing: ChatTyping) => void;
  /** Someone named this user with @name. */
  mention: (mention: ChatMention) => void;
  /** A private answer (a refused command, help) to this user only. */
  notice: (notice: ChatNotice) => void;
  /** A user's presence changed (over all their sockets on all nodes). */
  presence: (presence: ChatPresence) => void;
}

/** What a client sends on `/chat`; each answers through its ack. */
export interface ChatClientToServerEvents {
  /** Joins a room's live stream and answers the changes after `after` (a rev), up to `limit`. */
  sync: (req: { roomId: string; after: number; limit?: number }, ack: (reply: ChatReply<ChatHistory>) => void) => void;
  send: (req: { roomId: string; clientId: string; text: string }, ack: (reply: ChatReply<SendResult>) => void) => void;
  edit: (req: { roomId: string; seq: number; text: string }, ack: (reply: ChatReply<{ message: ChatMessage }>) => void) => void;
  remove: (req: { roomId: string; seq: number }, ack: (reply: ChatReply<{ message: ChatMessage }>) => void) => void;
  read: (req: { roomId: string; seq: number }, ack: (reply: ChatReply<{ room: ChatRoom }>) => void) => void;
  typing: (req: { roomId: string }) => void;
  /** Everyone connected now, on every node (users without a socket are offline). */
  presence: (req: Record<string, never>, ack: (reply: ChatReply<{ users: ChatPresence[] }>) => void) => void;
  /** This socket's user is away (tab hidden) or back. */
  away: (req: { away: boolean }) => void;
}
