/**
 * API tokens (each user manages their own; admins see and revoke all) and the audit log (admins).
 * Tokens are created only from a login session, so a leaked token cannot mint more tokens.
 */
import { tokenRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import { hasRole } from "../identity/index.js";
import { parseBody, parseQuery, reply } from "../platform/validate.js";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function tokenRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get(contract.list.path, async (req, res) => {
    const user = currentUser(res);
    const all = parseQuery(contract.list.query, req).all !== undefined;
    if (all && !hasRole(user.role, "admin")) throw new HttpError(403, "FORBIDDEN", "listing every token needs the admin role");
    reply(res, contract.list, { tokens: await deps.tokens.list(all ? undefined : user.username) });
  });
  router.post(contract.create.path, async (req, res) => {
    const user = currentUser(res);
    if (user.via !== "session")
      throw new HttpError(403, "FORBIDDEN", "API tokens are created from a login session, not with another token");
    const body = parseBody(contract.create.body, req, "invalid API token request");
    const { token, view } = await deps.tokens.create(user, body);
    await audit(deps, res, "token.create", view.id, { name: view.name, role: view.role, expiresAt: view.expiresAt });
    reply(res, contract.create, { token, apiToken: view });
  });
  router.delete(contract.revoke.path, async (req, res) => {
    const user = currentUser(res);
    const existing = await deps.tokens.get(req.params.id);
    // Someone else's token is as unknown as a missing one, unless you are an admin.
    if (!existing || (existing.username !== user.username && !hasRole(user.role, "admin"))) {
      throw new HttpError(404, "NOT_FOUND", `unknown API token ${JSON.stringify(req.params.id)}`);
    }
    const view = await deps.tokens.revoke(existing.id);
    await audit(deps, res, "token.revoke", view.id, { name: view.name, owner: view.username });
    reply(res, contract.revoke, { apiToken: view });
  });
  router.get(contract.audit.path, requireRole("admin"), async (req, res) => {
    const { limit = 100, actor, action, before } = parseQuery(contract.audit.query, req);
    reply(res, contract.audit, { entries: await deps.audit.list({ limit, actor, action, before }) });
  });
  return router;
}
