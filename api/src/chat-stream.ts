/**
 * The client side of chat delivery, shared by the dashboard and the tests: per room, applies
 * changes in `rev` order exactly once. A change that leaves a hole (a broadcast lost between
 * cloud nodes, or one that overtook an earlier one) triggers a sync from the cursor; live changes
 * that arrive meanwhile wait and are applied after it. On every (re)connect the owner calls
 * `resync()`, so a client resumes with exactly what it missed.
 *
 * Why a sync always closes the hole: a room's numbers are taken under the room's row lock and
 * the broadcast happens after the commit, so when change N is seen, every change below N is
 * already committed and a sync after the cursor returns it (or its later state).
 */
import type { ChatHistory, ChatMessage, ChatReply } from "./chat.js";

export type SyncRequest = (roomId: string, after: number) => Promise<ChatReply<ChatHistory>>;

interface RoomState {
  cursor: number;
  syncing: boolean;
  again: boolean;
  waiting: ChatMessage[];
}

export class ChatStream {
  private readonly rooms = new Map<string, RoomState>();

  constructor(
    private readonly sync: SyncRequest,
    /** Called once per change, in rev order per room. */
    private readonly apply: (message: ChatMessage) => void,
    private readonly onError: (roomId: string, error: { code: string; message: string }) => void = () => {},
  ) {}

  /** Starts following a room from `after` (0 = from the beginning). */
  follow(roomId: string, after = 0): Promise<void> {
    if (!this.rooms.has(roomId)) this.rooms.set(roomId, { cursor: after, syncing: false, again: false, waiting: [] });
    return this.catchUp(roomId);
  }

  cursor(roomId: string): number {
    return this.rooms.get(roomId)?.cursor ?? 0;
  }

  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** After a reconnect: every followed room asks for what it missed. */
  resync(): Promise<void> {
    return Promise.all(this.roomIds().map((id) => this.catchUp(id))).then(() => {});
  }

  /** A change pushed live, or returned by a send/edit ack. */
  receive(message: ChatMessage): void {
    const room = this.rooms.get(message.roomId);
    if (!room) return;
    if (room.syncing) {
      room.waiting.push(message);
      return;
    }
    if (message.rev <= room.cursor) return;
    if (message.rev === room.cursor + 1) {
      room.cursor = message.rev;
      this.apply(message);
      return;
    }
    room.waiting.push(message);
    void this.catchUp(message.roomId);
  }

  /** Changes held back behind a hole (for tests and diagnostics). */
  pending(roomId: string): number {
    return this.rooms.get(roomId)?.waiting.length ?? 0;
  }

  private async catchUp(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) return;
    if (room.syncing) {
      room.again = true;
      return;
    }
    room.syncing = true;
    try {
      for (;;) {
        room.again = false;
        let reply: Awaited<ReturnType<SyncRequest>>;
        try {
          reply = await this.sync(roomId, room.cursor);
        } catch {
          // Disconnected or timed out: the reconnect asks again (it set `again` if it came meanwhile).
          if (room.again) continue;
          return;
        }
        if (!reply.ok) {
          this.onError(roomId, reply.error);
          return;
        }
        for (const m of reply.messages) this.take(room, m);
        if (!reply.more && !room.again) break;
      }
    } finally {
      room.syncing = false;
      // Live changes that arrived meanwhile: most are now behind the cursor. One still beyond a
      // hole (the sync failed) waits for the next sync, which the next change or reconnect starts.
      const waiting = room.waiting.splice(0).sort((a, b) => a.rev - b.rev);
      for (const m of waiting) {
        if (m.rev === room.cursor + 1) this.take(room, m);
        else if (m.rev > room.cursor) room.waiting.push(m);
      }
    }
  }

  /** Applies a change from a sync answer or the waiting list if it is new. */
  private take(room: RoomState, m: ChatMessage): void {
    if (m.rev <= room.cursor) return;
    room.cursor = m.rev;
    this.apply(m);
  }
}
