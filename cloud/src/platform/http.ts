/**
 * What every module's routes share: the API's error type, the signed-in principal, the role
 * guard and the audit helper. The session guard itself (web/auth-routes.ts) runs before any
 * module's routes and puts the principal in `res.locals.user`.
 */
import type { NextFunction, Request, Response } from "express";
import type { AuditLog } from "../identity/audit-log.js";
import { hasRole, type Principal, type Role } from "../identity/index.js";
import type { Problem } from "./errors.js";

/** Becomes `{error: {code, message, problems?}}` with this status (web/http-errors.ts). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems?: readonly Problem[],
  ) {
    super(message);
  }
}

export function currentUser(res: Response): Principal {
  return res.locals.user as Principal;
}

export function requireRole(role: Role) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const user = currentUser(res);
    if (!hasRole(user.role, role)) throw new HttpError(403, "FORBIDDEN", `this needs the ${role} role; you are ${user.role}`);
    next();
  };
}

/** Writes an audit entry for the request's user. */
export function auditAs(
  log: AuditLog,
  res: Response,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
): Promise<unknown> {
  const user = currentUser(res);
  return log.record({ actor: user.username, via: user.via, action, target, detail });
}
