/**
 * Which browser origins may use a session (DESIGN.md §3 promise 10: a browser session cannot be
 * used from another origin). The cloud's own origin (scheme + Host of the request) is always
 * allowed; `http.allowed_origins` adds others (a dashboard served elsewhere). A same-site page on
 * another port is another origin: SameSite cookies do not stop it, this check does.
 *
 * Browsers send `Origin` on every cross-origin request and on same-origin POSTs, and
 * `Sec-Fetch-Site` on all requests; a request with neither is not from a browser page (curl, a
 * script, socket.io-client in Node), which cannot carry a victim's cookie without holding it.
 */
import type { IncomingHttpHeaders } from "node:http";

export interface OriginPolicy {
  /** Origins allowed besides the cloud's own, as `scheme://host[:port]`. */
  readonly allowed: readonly string[];
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Undefined when the request may act with the user's session; otherwise why not. */
export function originRefusal(headers: IncomingHttpHeaders, secure: boolean, policy: OriginPolicy): string | undefined {
  const origin = header(headers, "origin");
  const host = header(headers, "host");
  if (origin !== undefined && origin !== "null") {
    const own = host ? `${secure ? "https" : "http"}://${host}` : undefined;
    if (origin === own || policy.allowed.includes(origin)) return undefined;
    return `origin ${origin} is not allowed (add it to http.allowed_origins)`;
  }
  if (origin === "null") return "an opaque origin (null) is not allowed";
  const site = header(headers, "sec-fetch-site");
  if (site === undefined || site === "same-origin" || site === "none") return undefined;
  return `a ${site} request without an Origin header is not allowed`;
}
