/**
 * The browser-facing defences (docs/security.md): security headers (helmet: a CSP the dashboard
 * passes with no inline script, frame-ancestors none, nosniff; HSTS only on TLS) and the CSRF
 * guard for state-changing /api requests that ride on a session cookie.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import helmet from "helmet";
import { tokenFromAuthorization } from "../identity/index.js";
import { originRefusal } from "../platform/origin.js";
import { HttpError } from "./http-errors.js";

export const CSRF_COOKIE = "bv_csrf";
export const CSRF_HEADER = "x-csrf-token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function securityHeaders(): RequestHandler[] {
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        // Charts set element styles; no inline <script> is ever allowed.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
      },
    },
    frameguard: { action: "deny" },
    // Set below, only on TLS: a plain-HTTP HSTS header is ignored by browsers and misleads readers.
    strictTransportSecurity: false,
  });
  const hsts = helmet.strictTransportSecurity({ maxAge: 180 * 86_400 });
  return [headers, (req, res, next) => (req.secure ? hsts(req, res, next) : next())];
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get("cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A fresh double-submit token, set beside the session cookie at login. */
export function newCsrfToken(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * State-changing requests (and login) with cookies must come from an allowed origin or carry the
 * CSRF token (header equal to the bv_csrf cookie). Bearer tokens are not ambient credentials: a
 * page on another origin cannot set the header without a CORS preflight, which the cloud never grants.
 */
export function csrfGuard(allowedOrigins: () => readonly string[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const sent = req.get(CSRF_HEADER);
    const expected = cookieValue(req, CSRF_COOKIE);
    const exempt =
      SAFE_METHODS.has(req.method) ||
      tokenFromAuthorization(req.get("authorization")) !== undefined ||
      (sent && expected && sameToken(sent, expected));
    const refusal = exempt ? undefined : originRefusal(req.headers, req.secure, { allowed: allowedOrigins() });
    if (refusal) throw new HttpError(403, "ORIGIN_REFUSED", `${refusal}; or send the ${CSRF_HEADER} header`);
    next();
  };
}
