/** API tokens (each user their own; admins all) and the audit log (admins). */
import { z } from "zod";
import { EpochMs, flagQuery, intQuery, MAX_EPOCH_MS, Role, route } from "./common.js";

export const MAX_TOKEN_TTL_DAYS = 3650;

export const ApiToken = z.object({
  id: z.string(),
  name: z.string(),
  username: z.string(),
  role: Role,
  createdAt: EpochMs,
  expiresAt: EpochMs.nullable(),
  lastUsedAt: EpochMs.nullable(),
  revoked: z.boolean(),
});
export type ApiToken = z.infer<typeof ApiToken>;

/** `role` defaults to, and may not exceed, the caller's own role (checked by the server). */
export const CreateTokenBody = z.object({
  name: z.string("expected 1-128 characters").trim().min(1, "expected 1-128 characters").max(128, "expected 1-128 characters"),
  role: z.enum(Role.options, "expected viewer, operator or admin").optional(),
  ttl_days: z
    .number(`expected an integer from 1 to ${MAX_TOKEN_TTL_DAYS}`)
    .int(`expected an integer from 1 to ${MAX_TOKEN_TTL_DAYS}`)
    .min(1, `expected an integer from 1 to ${MAX_TOKEN_TTL_DAYS}`)
    .max(MAX_TOKEN_TTL_DAYS, `expected an integer from 1 to ${MAX_TOKEN_TTL_DAYS}`)
    .nullable()
    .optional(),
});
export type CreateTokenBody = z.input<typeof CreateTokenBody>;

export const TokenListQuery = z.object({ all: flagQuery.optional() });

export const AuditEntry = z.object({
  id: z.string(),
  at: EpochMs,
  actor: z.string(),
  /** "session", "token" or "system". */
  via: z.string(),
  action: z.string(),
  target: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Newest first; `before` pages back (entries strictly before that time). */
export const AuditQuery = z.object({
  limit: intQuery(1, 1000).optional(),
  actor: z.string().optional(),
  action: z.string().optional(),
  before: intQuery(0, MAX_EPOCH_MS).optional(),
});
export type AuditQuery = z.input<typeof AuditQuery>;

export const tokenRoutes = {
  list: route({
    method: "get",
    path: "/api/tokens",
    summary: "Your API tokens (`?all=1`: everyone's, admin)",
    query: TokenListQuery,
    status: 200,
    response: z.object({ tokens: z.array(ApiToken) }),
  }),
  create: route({
    method: "post",
    path: "/api/tokens",
    summary: "Create an API token from a login session; the secret is shown once",
    body: CreateTokenBody,
    status: 201,
    response: z.object({ token: z.string(), apiToken: ApiToken }),
  }),
  revoke: route({
    method: "delete",
    path: "/api/tokens/:id",
    summary: "Revoke an API token (yours, or any as admin)",
    status: 200,
    response: z.object({ apiToken: ApiToken }),
  }),
  audit: route({
    method: "get",
    path: "/api/audit",
    summary: "The audit log (admin)",
    role: "admin",
    query: AuditQuery,
    status: 200,
    response: z.object({ entries: z.array(AuditEntry) }),
  }),
};
