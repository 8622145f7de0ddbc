/** User administration (admins): list, create, change role, reset password, disable/enable. Audited. */
import { userRoutes as contract } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import { Router } from "express";
import { auditAs, HttpError, requireRole } from "../platform/http.js";
import { modulePath, parseBody, reply } from "../platform/validate.js";
import type { AuditLog } from "./audit-log.js";
import type { SessionStore } from "./sessions.js";
import type { UserStore } from "./users.js";

export function userRoutes(parts: () => { users: UserStore; sessions: SessionStore; audit: AuditLog }): Router {
  const router = Router();
  router.get(modulePath(contract.listUsers), requireRole("admin"), async (_req, res) => {
    reply(res, contract.listUsers, { users: await parts().users.list() });
  });
  router.post(modulePath(contract.createUser), requireRole("admin"), async (req, res) => {
    const body = parseBody(contract.createUser.body, req);
    const { users, audit } = parts();
    const user = await users.create(body.username, body.role, hashSecret(body.password, "scrypt"));
    await auditAs(audit, res, "user.create", user.username, { role: user.role });
    reply(res, contract.createUser, { user });
  });
  router.put(modulePath(contract.updateUser), requireRole("admin"), async (req, res) => {
    const body = parseBody(contract.updateUser.body, req);
    const { users, sessions, audit } = parts();
    const username = String(req.params.username);
    if (!(await users.account(username))) throw new HttpError(404, "NOT_FOUND", `unknown user ${JSON.stringify(username)}`);
    const user = await users.update(username, {
      role: body.role,
      passwordHash: body.password === undefined ? undefined : hashSecret(body.password, "scrypt"),
      disabled: body.disabled,
    });
    // A disabled account (or one whose password was reset) is signed out everywhere at once.
    if (body.disabled === true || body.password !== undefined) await sessions.deleteForUser(username);
    const detail = {
      ...(body.role ? { role: body.role } : {}),
      ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      ...(body.password ? { passwordReset: true } : {}),
    };
    await auditAs(audit, res, "user.update", username, detail);
    reply(res, contract.updateUser, { user });
  });
  return router;
}
