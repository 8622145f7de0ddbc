/** The identity tables in cloud.db (created by ./migrations.ts). */
export type IdentityTables = {
  users: { username: string; role: string; password_hash: string; source: string; created_at: number; disabled_at: number | null };
  sessions: { token_hash: string; username: string; created_at: number; expires_at: number };
  api_tokens: {
    id: string;
    name: string;
    token_hash: string;
    username: string;
    role: string;
    created_at: number;
    expires_at: number | null;
    last_used_at: number | null;
    revoked_at: number | null;
  };
  audit_log: { id: string; at: number; actor: string; via: string; action: string; target: string; detail_json: string };
};
