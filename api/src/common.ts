/** Shapes every domain's API shares, and the route catalogue the OpenAPI document is built from. */
import { z } from "zod";

/** One `path: message` problem of a refused request. */
export const Problem = z.object({ path: z.string(), message: z.string() });
export type Problem = z.infer<typeof Problem>;

/** The API's one error body: `{error: {code, message, problems?}}`. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    problems: z.array(Problem).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

export const Role = z.enum(["viewer", "operator", "admin"]);
export type Role = z.infer<typeof Role>;

/** Money: integer minor units (cents) and an ISO 4217 currency code. Never floats. */
export const Money = z.object({ amountMinor: z.number().int(), currency: z.string().regex(/^[A-Z]{3}$/) });
export type Money = z.infer<typeof Money>;

/** Milliseconds since the Unix epoch (UTC). */
export const EpochMs = z.number().int();

/** A metric or parameter value on the wire. */
export const Value = z.union([z.number(), z.boolean(), z.string()]);
export type Value = z.infer<typeof Value>;

/** The largest Date, in ms: the upper bound of time query parameters. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/**
 * An integer query parameter. Query values arrive as strings; an empty value counts as absent
 * (the server drops `?x=` before validating).
 */
export function intQuery(min: number, max: number) {
  return z
    .string()
    .regex(/^\s*-?\d+\s*$/, "expected an integer")
    .transform(Number)
    .pipe(z.number().int().min(min, `expected ${min} to ${max}`).max(max, `expected ${min} to ${max}`))
    .meta({ description: `an integer from ${min} to ${max}` });
}

/** A flag query parameter (`?all=1` or `?all=true`). */
export const flagQuery = z.enum(["1", "true"]);

/** An empty body (the route answers 204 No Content). */
export const NoContent = z.undefined();

/** Makes every property and array of a wire type readonly, so server read models assign to it. */
export type Wire<T> = T extends (infer E)[] ? readonly Wire<E>[] : T extends object ? { readonly [K in keyof T]: Wire<T[K]> } : T;

export type HttpMethod = "get" | "post" | "put" | "delete";

/** One REST route: its method, express-style path, what it accepts and what it answers. */
export interface RouteDef {
  readonly method: HttpMethod;
  /** Express path, e.g. `/api/devices/:id`. */
  readonly path: string;
  readonly summary: string;
  /** The lowest role that may call it; undefined = any signed-in user (or public for login). */
  readonly role?: Role;
  /** True for the one route that needs no session (login). */
  readonly public?: boolean;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Success status and body schema (NoContent for 204). */
  readonly status: number;
  readonly response: z.ZodType;
  /** A non-JSON success body (e.g. `text/event-stream`). */
  readonly contentType?: string;
}

/** Declares a route; the identity function keeps the literal types for the client side. */
export function route<const R extends RouteDef>(r: R): R {
  return r;
}
