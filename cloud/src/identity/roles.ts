/** Operator roles, ordered: viewer < operator < admin. */
import type { Role } from "../platform/config.js";

export type { Role } from "../platform/config.js";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(actual: Role, required: Role): boolean {
  return RANK[actual] >= RANK[required];
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && value in RANK;
}

export interface User {
  readonly username: string;
  readonly role: Role;
}
