/**
 * Claim codes and their exchange. A code is single use: the exchange marks it claimed with one
 * conditional UPDATE, so two racing claims cannot both win. Failed attempts are limited per
 * client address and overall (a code has ~49 bits; the limits make guessing hopeless), and
 * every attempt, good or bad, is in the audit log.
 */
import { randomUUID } from "node:crypto";
import type { EdgeClaim } from "@bitvelocity/api";
import { generateSecret, hashSecret } from "@bitvelocity/common";
import type { Kysely } from "kysely";
import type { AuditLog } from "../identity/audit-log.js";
import { LoginRateLimiter } from "../identity/index.js";
import type { Database } from "../platform/database.js";
import { HttpError } from "../platform/http.js";
import { claimCodeHash, newClaimCode, normaliseClaimCode } from "./claim-codes.js";
import type { ProvisioningTables } from "./migrations.js";
import type { ProvisioningPorts } from "./ports.js";

export interface NewClaim {
  readonly siteId: string;
  readonly edgeId: string;
  readonly name?: string | undefined;
  readonly ttlMinutes: number;
  readonly by: string;
}

export type ClaimRow = ProvisioningTables["edge_claims"];

export class ClaimService {
  private readonly db: Kysely<ProvisioningTables>;
  /** Failed attempts per client address: 10 per 15 minutes. */
  private readonly perClient = new LoginRateLimiter(10, 15 * 60_000);
  /** Failed attempts from everywhere together: 200 per 15 minutes. */
  private readonly overall = new LoginRateLimiter(200, 15 * 60_000);

  constructor(
    db: Database,
    private readonly ports: ProvisioningPorts,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {
    this.db = db.withTables<ProvisioningTables>();
  }

  /** Enrols every edge claimed before (their credential lives here). */
  async start(): Promise<void> {
    for (const row of await this.db.selectFrom("provisioned_edges").selectAll().execute()) {
      this.ports.enroll({ id: row.edge_id, siteId: row.site_id, name: row.name, tokenHash: row.token_hash });
    }
  }

  async create(input: NewClaim): Promise<{ code: string; claim: EdgeClaim }> {
    if (!this.ports.siteExists(input.siteId))
      throw new HttpError(400, "VALIDATION_FAILED", "invalid claim request", [{ path: "siteId", message: `unknown site ${input.siteId}` }]);
    if (this.ports.edgeOnline(input.edgeId) !== undefined)
      throw new HttpError(409, "EDGE_EXISTS", `the cloud already knows an edge ${JSON.stringify(input.edgeId)}`);
    const now = this.now();
    const pending = await this.db
      .selectFrom("edge_claims")
      .select("id")
      .where("edge_id", "=", input.edgeId)
      .where("claimed_at", "is", null)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    if (pending)
      throw new HttpError(409, "CLAIM_PENDING", `edge ${JSON.stringify(input.edgeId)} already has a claim code waiting to be used`);
    const code = newClaimCode();
    const row: ClaimRow = {
      id: randomUUID().replace(/-/g, ""),
      code_hash: claimCodeHash(normaliseClaimCode(code) ?? code),
      edge_id: input.edgeId,
      site_id: input.siteId,
      name: input.name || input.edgeId,
      created_by: input.by,
      created_at: now,
      expires_at: now + input.ttlMinutes * 60_000,
      claimed_at: null,
    };
    await this.db.insertInto("edge_claims").values(row).execute();
    return { code, claim: this.view(row) };
  }

  async list(): Promise<EdgeClaim[]> {
    const rows = await this.db.selectFrom("edge_claims").selectAll().orderBy("created_at", "desc").limit(200).execute();
    return rows.map((r) => this.view(r));
  }

  /**
   * Exchanges a code for the edge's identity and a new token (returned once). Throws HttpError:
   * 400 not a code, 404 unknown, 410 used or expired, 429 too many failed attempts.
   */
  async claim(input: string, client: string): Promise<{ edgeId: string; siteId: string; token: string }> {
    const wait = Math.max(this.perClient.retryAfterMs(client), this.overall.retryAfterMs("all"));
    if (wait > 0) {
      await this.record(client, "rate-limited", "-");
      throw Object.assign(new HttpError(429, "RATE_LIMITED", "too many failed claim attempts; try again later"), { retryAfterMs: wait });
    }
    const code = normaliseClaimCode(input);
    const row = code
      ? await this.db.selectFrom("edge_claims").selectAll().where("code_hash", "=", claimCodeHash(code)).executeTakeFirst()
      : undefined;
    const fail = async (status: number, errorCode: string, message: string, target = "-") => {
      this.perClient.recordFailure(client);
      this.overall.recordFailure("all");
      await this.record(client, errorCode, target);
      return new HttpError(status, errorCode, message);
    };
    if (!code) throw await fail(400, "CLAIM_INVALID", "not a claim code: expected 10 letters and digits, like ABCDE-23456");
    if (!row) throw await fail(404, "CLAIM_UNKNOWN", "unknown claim code: check it, or ask for a new one");
    if (row.claimed_at !== null) throw await fail(410, "CLAIM_USED", "this claim code was already used: ask for a new one", row.id);
    const now = this.now();
    if (Number(row.expires_at) <= now) throw await fail(410, "CLAIM_EXPIRED", "this claim code has expired: ask for a new one", row.id);
    const taken = await this.db
      .updateTable("edge_claims")
      .set({ claimed_at: now })
      .where("id", "=", row.id)
      .where("claimed_at", "is", null)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1)
      throw await fail(410, "CLAIM_USED", "this claim code was already used: ask for a new one", row.id);
    const token = generateSecret();
    const tokenHash = hashSecret(token);
    await this.db
      .insertInto("provisioned_edges")
      .values({ edge_id: row.edge_id, site_id: row.site_id, name: row.name, token_hash: tokenHash, claim_id: row.id, claimed_at: now })
      .onConflict((oc) => oc.column("edge_id").doUpdateSet({ token_hash: tokenHash, claim_id: row.id, claimed_at: now }))
      .execute();
    this.ports.enroll({ id: row.edge_id, siteId: row.site_id, name: row.name, tokenHash });
    this.perClient.reset(client);
    await this.record(client, "claimed", row.id, row.edge_id);
    return { edgeId: row.edge_id, siteId: row.site_id, token };
  }

  private view(r: ClaimRow): EdgeClaim {
    const claimedAt = r.claimed_at === null ? null : Number(r.claimed_at);
    const expiresAt = Number(r.expires_at);
    const online = this.ports.edgeOnline(r.edge_id);
    const state = claimedAt !== null ? (online ? "online" : "claimed") : expiresAt <= this.now() ? "expired" : "pending";
    return {
      id: r.id,
      edgeId: r.edge_id,
      siteId: r.site_id,
      name: r.name,
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
      expiresAt,
      claimedAt,
      state,
    };
  }

  private async record(client: string, result: string, claimId: string, edgeId?: string): Promise<void> {
    await this.audit.record({
      actor: "edge-claim",
      via: "claim",
      action: "edge.claim",
      target: claimId,
      detail: { result, client, ...(edgeId ? { edgeId } : {}) },
    });
  }
}
