/**
 * Edge credentials (DESIGN.md §3 promise 10): the token hashes from the config, overridden by
 * tokens rotated or revoked at run time (stored in the relational database, so a cloud restart
 * keeps them). A revoked edge, or one presenting a token that was rotated away, is refused.
 */
import { generateSecret, hashSecret } from "@bitvelocity/common";
import type { Database } from "../platform/database.js";
import type { EdgeCredential } from "./ports.js";

type TokenTables = {
  edge_tokens: { edge_id: string; token_hash: string | null; revoked: number; updated_at: number; updated_by: string };
};

export type CredentialLookup = { status: "ok"; edge: EdgeCredential } | { status: "unknown" } | { status: "revoked" };

export class EdgeCredentials {
  private readonly db;
  private readonly configured: Map<string, EdgeCredential>;
  private readonly overrides = new Map<string, { tokenHash: string | null; revoked: boolean }>();

  constructor(db: Database, edges: readonly EdgeCredential[]) {
    this.db = db.withTables<TokenTables>();
    this.configured = new Map(edges.map((e) => [e.id, e]));
  }

  async load(): Promise<void> {
    for (const row of await this.db.selectFrom("edge_tokens").selectAll().execute()) {
      this.overrides.set(row.edge_id, { tokenHash: row.token_hash, revoked: row.revoked === 1 });
    }
  }

  lookup(edgeId: string): CredentialLookup {
    const edge = this.configured.get(edgeId);
    if (!edge) return { status: "unknown" };
    const override = this.overrides.get(edgeId);
    if (override?.revoked) return { status: "revoked" };
    return { status: "ok", edge: override?.tokenHash ? { ...edge, tokenHash: override.tokenHash } : edge };
  }

  /**
   * Adds an edge enrolled at run time (a claimed edge, cloud/src/provisioning); its token hash is
   * kept by the enrolling module, which enrols its edges again at every start. Rotation and
   * revocation apply to it as to a configured edge.
   */
  enroll(edge: EdgeCredential): void {
    this.configured.set(edge.id, edge);
  }

  knows(edgeId: string): boolean {
    return this.configured.has(edgeId);
  }

  /** Issues a new token (shown once) and retires the old one; also lifts a revocation. */
  async rotate(edgeId: string, by: string): Promise<string> {
    const token = generateSecret();
    await this.save(edgeId, hashSecret(token), false, by);
    return token;
  }

  async revoke(edgeId: string, by: string): Promise<void> {
    await this.save(edgeId, null, true, by);
  }

  private async save(edgeId: string, tokenHash: string | null, revoked: boolean, by: string): Promise<void> {
    const row = { token_hash: tokenHash, revoked: revoked ? 1 : 0, updated_at: Date.now(), updated_by: by };
    await this.db
      .insertInto("edge_tokens")
      .values({ edge_id: edgeId, ...row })
      .onConflict((oc) => oc.column("edge_id").doUpdateSet(row))
      .execute();
    this.overrides.set(edgeId, { tokenHash, revoked });
  }
}
