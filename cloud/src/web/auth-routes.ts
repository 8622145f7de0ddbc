/** Login, logout, who-am-I; the session and role guards for every other /api route. */
import { authRoutes as contract } from "@bitvelocity/api";
import { type NextFunction, type Request, type Response, Router } from "express";
import { API_TOKEN_PREFIX, type Principal, SESSION_COOKIE, tokenFromAuthorization, tokenFromCookie } from "../identity/index.js";
import { currentUser } from "../platform/http.js";
import { parseBody, reply } from "../platform/validate.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";
import { CSRF_COOKIE, newCsrfToken } from "./security.js";

function requestToken(req: Request): string | undefined {
  return tokenFromAuthorization(req.get("authorization")) ?? tokenFromCookie(req.get("cookie"));
}

export { currentUser, requireRole } from "../platform/http.js";

/** A session (cookie or Bearer) or an API token (`Bearer bvt_…`); the same check for socket.io. */
export async function authenticate(deps: Pick<WebDeps, "sessions" | "tokens">, token: string | undefined): Promise<Principal | undefined> {
  if (token?.startsWith(API_TOKEN_PREFIX)) {
    const user = await deps.tokens.resolve(token);
    return user ? { ...user, via: "token" } : undefined;
  }
  const user = await deps.sessions.resolve(token);
  return user ? { ...user, via: "session" } : undefined;
}

export function requireSession(deps: WebDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const user = await authenticate(deps, requestToken(req));
    if (!user) throw new HttpError(401, "UNAUTHENTICATED", "log in first (POST /api/auth/login) or send an API token");
    res.locals.user = user;
    next();
  };
}

export function loginRoutes(deps: WebDeps): Router {
  const router = Router();
  router.post(contract.login.path, async (req, res) => {
    const { username, password } = parseBody(contract.login.body, req, "username and password are required");
    // Throttled per username + address (guessing one password) and per address alone (one
    // address trying many usernames); a success clears only the first.
    const key = `${username}|${req.ip ?? ""}`;
    const address = req.ip ?? "";
    const wait = Math.max(deps.loginLimiter.retryAfterMs(key), deps.addressLimiter.retryAfterMs(address));
    if (wait > 0) {
      res.set("Retry-After", String(Math.ceil(wait / 1000)));
      throw new HttpError(429, "RATE_LIMITED", "too many failed logins; try again later");
    }
    const user = await deps.users.verify(username, password);
    if (!user) {
      deps.loginLimiter.recordFailure(key);
      deps.addressLimiter.recordFailure(address);
      throw new HttpError(401, "UNAUTHENTICATED", "wrong username or password");
    }
    deps.loginLimiter.reset(key);
    const session = await deps.sessions.create(user);
    // Strict: no other site's page gets a request sent with it; Secure whenever served over TLS.
    const cookie = { sameSite: "strict", secure: req.secure, path: "/", maxAge: deps.sessionTtlMs } as const;
    res.cookie(SESSION_COOKIE, session.token, { ...cookie, httpOnly: true });
    res.cookie(CSRF_COOKIE, newCsrfToken(), cookie);
    reply(res, contract.login, { user: { username: user.username, role: user.role } });
  });
  return router;
}

export function sessionRoutes(deps: WebDeps): Router {
  const router = Router();
  router.post(contract.logout.path, async (req, res) => {
    const token = requestToken(req);
    if (token) await deps.sessions.delete(token);
    res.clearCookie(SESSION_COOKIE, { path: "/" });
    res.clearCookie(CSRF_COOKIE, { path: "/" });
    reply(res, contract.logout, undefined);
  });
  router.get(contract.me.path, (_req, res) => {
    const user = currentUser(res);
    reply(res, contract.me, { user: { username: user.username, role: user.role } });
  });
  return router;
}
