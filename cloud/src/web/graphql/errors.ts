/** How resolvers refuse: a GraphQL error with a clear message and extensions.code, never a stack. */
import { isBvError } from "@bitvelocity/common";
import { createGraphQLError } from "graphql-yoga";
import { hasRole, type Role } from "../../identity/index.js";
import type { GraphqlContext } from "./deps.js";

/** `extra`: more extensions (e.g. the orderId of an order that exists but did not complete). */
export function refuse(code: string, message: string, problems?: unknown, extra: Record<string, unknown> = {}): never {
  throw createGraphQLError(message, { extensions: problems ? { code, problems, ...extra } : { code, ...extra } });
}

/** A page size within 1..cap, or a clear error naming the argument. */
export function pageSize(first: unknown, cap: number): number {
  if (typeof first !== "number" || !Number.isInteger(first) || first < 1 || first > cap) {
    refuse("BAD_USER_INPUT", `first must be an integer from 1 to ${cap}`, [{ path: "first", message: `expected 1..${cap}` }]);
  }
  return first;
}

export function requireRole(ctx: GraphqlContext, role: Role): void {
  if (!hasRole(ctx.user.role, role)) refuse("FORBIDDEN", `this needs the ${role} role; you are ${ctx.user.role}`);
}

/** Domain errors keep their code and problems; anything else is masked by yoga (no stack, no message). */
export async function service<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isBvError(err) && (err.kind === "protocol" || err.code === "NOT_FOUND")) {
      const problems = (err as { problems?: unknown }).problems;
      refuse(err.code, err.message, Array.isArray(problems) && problems.length > 0 ? problems : undefined);
    }
    throw err;
  }
}
