/**
 * Request validation with the wire contract's zod schemas (@bitvelocity/api): every body and
 * query goes through one of these, never through a cast. A refusal is a 400
 * `{error: {code: "VALIDATION_FAILED", message, problems: [{path, message}]}}`, every problem at once.
 */
import type { RouteDef, Wire } from "@bitvelocity/api";
import type { Request, Response } from "express";
import type { z } from "zod";
import type { Problem } from "./errors.js";
import { HttpError } from "./http.js";

export function problemsOf(error: z.ZodError, prefix: readonly string[] = []): Problem[] {
  return error.issues.map((i) => ({ path: [...prefix, ...i.path.map(String)].join(".") || "(root)", message: i.message }));
}

/** The body, as the schema's output; throws the 400 with every problem. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request, message = "invalid request body"): z.output<S> {
  const result = schema.safeParse(req.body);
  if (!result.success) throw new HttpError(400, "VALIDATION_FAILED", message, problemsOf(result.error));
  return result.data;
}

/** `?x=` is the same as no `x` (a cleared form field); express's parsed query is otherwise as sent. */
function withoutEmpty(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof query !== "object" || query === null) return out;
  for (const [k, v] of Object.entries(query)) if (v !== "") out[k] = v;
  return out;
}

/**
 * The query, with its problems not yet thrown, so a route can add the checks only the server can
 * make (a metric of this device's type) and still list every problem at once; see `refuse`.
 */
export function checkQuery<S extends z.ZodType>(
  schema: S,
  req: Request,
): { data: z.output<S>; problems: Problem[] } | { data: undefined; problems: Problem[] } {
  const result = schema.safeParse(withoutEmpty(req.query));
  return result.success ? { data: result.data, problems: [] } : { data: undefined, problems: problemsOf(result.error) };
}

/** Throws the 400 for query problems, if any. */
export function refuse(problems: readonly Problem[], message = "invalid query parameters"): void {
  if (problems.length > 0) throw new HttpError(400, "VALIDATION_FAILED", message, problems);
}

/** The query, as the schema's output; throws the 400 with every problem. */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const result = schema.safeParse(withoutEmpty(req.query));
  if (!result.success) throw new HttpError(400, "VALIDATION_FAILED", "invalid query parameters", problemsOf(result.error));
  return result.data;
}

/** Sends a route's success answer; the compiler checks the body against the contract. */
export function reply<R extends RouteDef>(res: Response, route: R, body: Wire<z.output<R["response"]>>): void {
  if (route.status === 204) {
    res.status(204).end();
    return;
  }
  res.status(route.status).json(body);
}

/** A contract path as a module's router sees it (modules' routes are mounted under /api). */
export function modulePath(route: RouteDef): string {
  return route.path.replace(/^\/api(?=\/)/, "");
}
