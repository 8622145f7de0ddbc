/** The identity tables in cloud.db (created by platform/migrations.ts). */
export type IdentityTables = {
  users: { username: string; role: string; password_hash: string; source: string; created_at: number };
  sessions: { token_hash: string; username: string; created_at: number; expires_at: number };
};
