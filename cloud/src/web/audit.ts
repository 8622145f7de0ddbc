/** Writes an audit entry for the request's user (commands, rule edits, tokens, alert actions). */
import type { Response } from "express";
import { auditAs } from "../platform/http.js";
import type { WebDeps } from "./deps.js";

export function audit(
  deps: WebDeps,
  res: Response,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
): Promise<unknown> {
  return auditAs(deps.audit, res, action, target, detail);
}
