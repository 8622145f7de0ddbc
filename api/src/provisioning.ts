/**
 * Provisioning edges with claim codes (edge/deploy/README.md): an admin adds an edge (site, id,
 * name) and gets a one-time code; `bv-edge claim --cloud URL --code CODE` on the Pi exchanges it
 * for the edge's identity and credential. The exchange is public (the code is the credential) and
 * rate-limited per address.
 */
import { z } from "zod";
import { EpochMs, route } from "./common.js";

export const EDGE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_CLAIM_TTL_MINUTES = 7 * 24 * 60;

/** pending: the code waits to be used; claimed: the edge has its credential; online: it is connected. */
export const ClaimState = z.enum(["pending", "expired", "claimed", "online"]);
export type ClaimState = z.infer<typeof ClaimState>;

export const EdgeClaim = z.object({
  id: z.string(),
  edgeId: z.string(),
  siteId: z.string(),
  name: z.string(),
  createdBy: z.string(),
  createdAt: EpochMs,
  expiresAt: EpochMs,
  claimedAt: EpochMs.nullable(),
  state: ClaimState,
});
export type EdgeClaim = z.infer<typeof EdgeClaim>;

export const CreateClaimBody = z.object({
  siteId: z.string("expected a site id").min(1, "expected a site id"),
  edgeId: z.string("expected an edge id").regex(EDGE_ID_PATTERN, "expected 1-64 letters, digits, '.', '_' or '-'"),
  name: z.string().trim().max(128, "expected at most 128 characters").optional(),
  ttlMinutes: z
    .number(`expected an integer from 1 to ${MAX_CLAIM_TTL_MINUTES}`)
    .int(`expected an integer from 1 to ${MAX_CLAIM_TTL_MINUTES}`)
    .min(1, `expected an integer from 1 to ${MAX_CLAIM_TTL_MINUTES}`)
    .max(MAX_CLAIM_TTL_MINUTES, `expected an integer from 1 to ${MAX_CLAIM_TTL_MINUTES}`)
    .optional(),
});
export type CreateClaimBody = z.input<typeof CreateClaimBody>;

export const CreatedClaim = z.object({
  /** Shown once: only its hash is stored. */
  code: z.string(),
  claim: EdgeClaim,
  /** SHA-256 fingerprint of the cloud's TLS certificate; null when the cloud serves plain HTTP. */
  certificateFingerprint: z.string().nullable(),
  /** The one command to run on the Pi. */
  installCommand: z.string(),
});
export type CreatedClaim = z.infer<typeof CreatedClaim>;

export const ClaimBody = z.object({ code: z.string("expected a claim code").min(1, "expected a claim code").max(64) });

/** What a claimed edge receives: its identity, its credential and where to connect. */
export const EdgeIdentity = z.object({
  edgeId: z.string(),
  siteId: z.string(),
  token: z.string(),
  /** host:port of the cloud's EdgeSync gRPC endpoint. */
  grpcUrl: z.string(),
  /** SHA-256 fingerprint of EdgeSync's certificate, pinned by the edge; null when EdgeSync is plain text (grpc.insecure). */
  certificateFingerprint: z.string().nullable(),
  /** PEM of the development CA EdgeSync's certificate chains to; null when it chains to a public CA (or is plain text). */
  caCertificate: z.string().nullable(),
  /** PEM (SPKI) of the ed25519 key agent releases are signed with: the only key the edge trusts for updates. */
  releasePublicKey: z.string().nullable(),
});
export type EdgeIdentity = z.infer<typeof EdgeIdentity>;

export const provisioningRoutes = {
  createClaim: route({
    method: "post",
    path: "/api/provisioning/claims",
    summary: "Add an edge: a one-time claim code for it (admin)",
    role: "admin",
    body: CreateClaimBody,
    status: 201,
    response: CreatedClaim,
  }),
  listClaims: route({
    method: "get",
    path: "/api/provisioning/claims",
    summary: "Claim codes issued and their state (admin)",
    role: "admin",
    status: 200,
    response: z.object({ claims: z.array(EdgeClaim), certificateFingerprint: z.string().nullable() }),
  }),
  claim: route({
    method: "post",
    path: "/api/edge/claim",
    summary: "Exchange a claim code for the edge's identity and credential (public, rate-limited)",
    public: true,
    body: ClaimBody,
    status: 200,
    response: EdgeIdentity,
  }),
};
