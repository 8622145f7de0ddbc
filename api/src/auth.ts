/** Login, logout and who-am-I. */
import { z } from "zod";
import { NoContent, Role, route } from "./common.js";

export const User = z.object({ username: z.string(), role: Role });
export type User = z.infer<typeof User>;

export const LoginBody = z.object({
  username: z.string("expected a string").min(1, "expected a string"),
  password: z.string("expected a string").min(1, "expected a string"),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const UserResponse = z.object({ user: User });
export type UserResponse = z.infer<typeof UserResponse>;

export const authRoutes = {
  login: route({
    method: "post",
    path: "/api/auth/login",
    summary: "Log in; sets the session cookie (bv_session)",
    public: true,
    body: LoginBody,
    status: 200,
    response: UserResponse,
  }),
  logout: route({ method: "post", path: "/api/auth/logout", summary: "End this session", status: 204, response: NoContent }),
  me: route({ method: "get", path: "/api/auth/me", summary: "The signed-in user", status: 200, response: UserResponse }),
};
