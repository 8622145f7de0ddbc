/**
 * API tokens (each user manages their own; admins see and revoke all) and the audit log (admins).
 * Tokens are created only from a login session, so a leaked token cannot mint more tokens.
 */
import { Router } from "express";
import { hasRole } from "../identity/index.js";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";
import { QueryReader } from "./query.js";

const MAX_MS = 8_640_000_000_000_000;

export function tokenRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get("/api/tokens", async (req, res) => {
    const user = currentUser(res);
    const q = new QueryReader(req.query);
    const all = q.oneOf("all", ["1", "true"] as const) !== undefined;
    q.done();
    if (all && !hasRole(user.role, "admin")) throw new HttpError(403, "FORBIDDEN", "listing every token needs the admin role");
    res.json({ tokens: await deps.tokens.list(all ? undefined : user.username) });
  });
  router.post("/api/tokens", async (req, res) => {
    const user = currentUser(res);
    if (user.via !== "session")
      throw new HttpError(403, "FORBIDDEN", "API tokens are created from a login session, not with another token");
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "VALIDATION_FAILED", "expected a JSON object {name, role?, ttl_days?}");
    }
    const { token, view } = await deps.tokens.create(user, body);
    await audit(deps, res, "token.create", view.id, { name: view.name, role: view.role, expiresAt: view.expiresAt });
    res.status(201).json({ token, apiToken: view });
  });
  router.delete("/api/tokens/:id", async (req, res) => {
    const user = currentUser(res);
    const existing = await deps.tokens.get(req.params.id);
    // Someone else's token is as unknown as a missing one, unless you are an admin.
    if (!existing || (existing.username !== user.username && !hasRole(user.role, "admin"))) {
      throw new HttpError(404, "NOT_FOUND", `unknown API token ${JSON.stringify(req.params.id)}`);
    }
    const view = await deps.tokens.revoke(existing.id);
    await audit(deps, res, "token.revoke", view.id, { name: view.name, owner: view.username });
    res.json({ apiToken: view });
  });
  router.get("/api/audit", requireRole("admin"), async (req, res) => {
    const q = new QueryReader(req.query);
    const query = {
      limit: q.integer("limit", 1, 1000) ?? 100,
      actor: q.string("actor"),
      action: q.string("action"),
      before: q.integer("before", 0, MAX_MS),
    };
    q.done();
    res.json({ entries: await deps.audit.list(query) });
  });
  return router;
}
