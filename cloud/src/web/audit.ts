/** Writes an audit entry for the request's user (commands, rule edits, tokens, alert actions). */
import type { Response } from "express";
import { currentUser } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";

export function audit(
  deps: WebDeps,
  res: Response,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
): Promise<unknown> {
  const user = currentUser(res);
  return deps.audit.record({ actor: user.username, via: user.via, action, target, detail });
}
