/**
 * Provisioning over HTTP. Admin routes (under /api, behind the session guard): issue and list
 * claim codes. Public routes: the installer, the packages, and the claim exchange itself.
 */
import { existsSync } from "node:fs";
import { provisioningRoutes as contract } from "@bitvelocity/api";
import { type Request, Router } from "express";
import { auditAs, currentUser, HttpError, requireRole } from "../platform/http.js";
import { parseBody, reply } from "../platform/validate.js";
import type { ClaimService } from "./claim-service.js";
import type { EdgePackages } from "./edge-packages.js";

export interface ProvisioningWeb {
  readonly claims: ClaimService;
  readonly packages: EdgePackages;
  readonly audit: import("../identity/audit-log.js").AuditLog;
  readonly defaultTtlMinutes: number;
  readonly grpcUrl: (req: Request) => string;
  readonly certificateFingerprint: () => string | null;
  /** PEM of the development CA EdgeSync's certificate chains to, or null. */
  readonly caCertificate: () => string | null;
  /** curl's public-key pin of the HTTPS certificate when no public CA vouches for it (the development CA), or null. */
  readonly httpsPin: () => string | null;
  /** PEM of the release public key the claimed edge stores (docs/security.md "Release key"). */
  readonly releasePublicKey: () => string | null;
}

const cloudUrl = (req: Request) => `${req.protocol}://${req.get("host") ?? "localhost"}`;

/**
 * The one command to run on the Pi. With the development CA, curl and `bv-edge claim` pin the
 * HTTPS certificate's public key (shown here by the admin's own, trusted session) instead of a CA.
 */
export function installCommand(url: string, code: string, pin: string | null): string {
  if (!pin) return `curl -fsSL ${url}/edge/install.sh | sudo sh -s -- --claim ${code}`;
  return `curl -fsSLk --pinnedpubkey '${pin}' ${url}/edge/install.sh | sudo sh -s -- --claim ${code} --pin '${pin}'`;
}

export function adminRoutes(web: ProvisioningWeb): Router {
  const router = Router();
  router.post(contract.createClaim.path.replace(/^\/api/, ""), requireRole("admin"), async (req, res) => {
    const body = parseBody(contract.createClaim.body, req, "invalid claim request");
    const user = currentUser(res);
    const { code, claim } = await web.claims.create({
      siteId: body.siteId,
      edgeId: body.edgeId,
      name: body.name,
      ttlMinutes: body.ttlMinutes ?? web.defaultTtlMinutes,
      by: user.username,
    });
    await auditAs(web.audit, res, "edge.claim-code", claim.id, { edgeId: claim.edgeId, siteId: claim.siteId, expiresAt: claim.expiresAt });
    reply(res, contract.createClaim, {
      code,
      claim,
      certificateFingerprint: web.certificateFingerprint(),
      installCommand: installCommand(cloudUrl(req), code, web.httpsPin()),
    });
  });
  router.get(contract.listClaims.path.replace(/^\/api/, ""), requireRole("admin"), async (_req, res) => {
    reply(res, contract.listClaims, { claims: await web.claims.list(), certificateFingerprint: web.certificateFingerprint() });
  });
  return router;
}

export function publicRoutes(web: ProvisioningWeb): Router {
  const router = Router();
  router.post(contract.claim.path, async (req, res) => {
    const body = parseBody(contract.claim.body, req, "expected {code}");
    try {
      const edge = await web.claims.claim(body.code, req.ip ?? "unknown");
      reply(res, contract.claim, {
        ...edge,
        grpcUrl: web.grpcUrl(req),
        certificateFingerprint: web.certificateFingerprint(),
        caCertificate: web.caCertificate(),
        releasePublicKey: web.releasePublicKey(),
      });
    } catch (err) {
      const wait = (err as { retryAfterMs?: number }).retryAfterMs;
      if (wait) res.set("Retry-After", String(Math.ceil(wait / 1000)));
      throw err;
    }
  });
  router.get("/edge/install.sh", async (req, res) => {
    const script = await web.packages.installer(cloudUrl(req));
    if (!script) throw new HttpError(404, "NOT_FOUND", "no edge installer published on this cloud (run npm run package:edge)");
    res.type("text/x-shellscript").send(script);
  });
  // The index install.sh reads: one "file sha256 size" line per package.
  router.get("/edge/packages/", async (_req, res) => {
    const lines = (await web.packages.list()).map((p) => `${p.file} ${p.sha256} ${p.size}\n`);
    res.type("text/plain").send(lines.join(""));
  });
  router.get("/edge/packages/:file", (req, res) => {
    const path = web.packages.path(req.params.file);
    if (!path || !existsSync(path)) throw new HttpError(404, "NOT_FOUND", `no edge package ${JSON.stringify(req.params.file)}`);
    res.type("application/vnd.debian.binary-package").sendFile(path);
  });
  return router;
}
