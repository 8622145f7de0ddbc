/** Operator accounts, administered by admins (docs/security.md). */
import { z } from "zod";
import { EpochMs, Role, route } from "./common.js";

export const UserAccount = z.object({
  username: z.string(),
  role: Role,
  /** When an admin disabled the account (its sessions and API tokens stopped working then); null = active. */
  disabledAt: EpochMs.nullable(),
  /** config (re-seeded from the config file at each start), bootstrap (the admin) or api. */
  source: z.string(),
});
export type UserAccount = z.infer<typeof UserAccount>;

const username = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected 1-64 letters, digits, '.', '_' or '-'");
const password = z.string().min(8, "must be at least 8 characters").max(256);

export const CreateUserBody = z.strictObject({ username, role: Role, password });
export type CreateUserBody = z.infer<typeof CreateUserBody>;

/** Any subset: a new role, a new password (reset), or disabled true/false. */
export const UpdateUserBody = z
  .strictObject({ role: Role.optional(), password: password.optional(), disabled: z.boolean().optional() })
  .refine((b) => b.role !== undefined || b.password !== undefined || b.disabled !== undefined, "expected role, password or disabled");
export type UpdateUserBody = z.infer<typeof UpdateUserBody>;

export const userRoutes = {
  listUsers: route({
    method: "get",
    path: "/api/users",
    summary: "Operator accounts (admin)",
    role: "admin",
    status: 200,
    response: z.object({ users: z.array(UserAccount) }),
  }),
  createUser: route({
    method: "post",
    path: "/api/users",
    summary: "Create an operator account (admin, audited)",
    role: "admin",
    body: CreateUserBody,
    status: 201,
    response: z.object({ user: UserAccount }),
  }),
  updateUser: route({
    method: "put",
    path: "/api/users/:username",
    summary: "Change a role, reset a password, disable or enable (admin, audited); disabling ends the user's sessions at once",
    role: "admin",
    body: UpdateUserBody,
    status: 200,
    response: z.object({ user: UserAccount }),
  }),
};
