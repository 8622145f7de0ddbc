/** The chat tables in cloud.db (created by ./migrations.ts). Counters may arrive as strings from PostgreSQL. */
export type ChatTables = {
  chat_rooms: {
    id: string;
    kind: string;
    name: string;
    member_a: string | null;
    member_b: string | null;
    site_id: string | null;
    owner: string | null;
    last_seq: number | string;
    created_at: number;
  };
  chat_messages: {
    room_id: string;
    seq: number | string;
    rev: number | string;
    client_id: string;
    author: string;
    kind: string;
    text: string;
    mentions: string;
    created_at: number | string;
    edited_at: number | string | null;
    deleted: number;
  };
  chat_reads: { room_id: string; username: string; seq: number | string };
  chat_pending_commands: { command_id: string; room_id: string; requested_by: string; created_at: number | string };
};
