/**
 * Releases over HTTP. Admin routes (under /api, behind the session guard): publish a package,
 * list releases, set a rollout; any signed-in user reads each edge's update state. Public route:
 * the package download, authenticated by the edge's own credential (`Authorization: Bearer
 * <token>` with `X-BV-Edge-Id`), resumable with HTTP Range (express's sendFile answers 206).
 */
import { existsSync } from "node:fs";
import { releaseRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import type { AuditLog } from "../identity/audit-log.js";
import { auditAs, currentUser, HttpError, requireRole } from "../platform/http.js";
import { modulePath, parseBody, parseQuery, reply } from "../platform/validate.js";
import type { ReleasesPorts } from "./ports.js";
import type { ReleaseService } from "./release-service.js";

export interface ReleasesWeb {
  readonly service: ReleaseService;
  readonly audit: AuditLog;
  readonly ports: ReleasesPorts;
}

export function adminRoutes(web: () => ReleasesWeb): Router {
  const router = Router();
  router.post(modulePath(contract.publish), requireRole("admin"), async (req, res) => {
    const query = parseQuery(contract.publish.query, req);
    const { service, audit } = web();
    const release = await service.publish({ body: req, ...query, by: currentUser(res).username });
    await auditAs(audit, res, "release.publish", release.id, { version: release.version, arch: release.arch, sha256: release.sha256 });
    reply(res, contract.publish, { release });
  });
  router.get(modulePath(contract.list), requireRole("admin"), async (_req, res) => {
    const { service } = web();
    reply(res, contract.list, { releases: await service.list(), publicKey: service.publicKeyPem });
  });
  router.post(modulePath(contract.rollout), requireRole("admin"), async (req, res) => {
    const body = parseBody(contract.rollout.body, req, "invalid rollout");
    const { service, audit } = web();
    const id = String(req.params.id);
    const result = await service.rollout(id, body);
    await auditAs(audit, res, "release.rollout", id, { sites: body.sites, percent: body.percent, offered: result.offered });
    reply(res, contract.rollout, result);
  });
  router.get(modulePath(contract.edgeUpdates), async (_req, res) => {
    reply(res, contract.edgeUpdates, { edges: await web().service.edgeUpdates() });
  });
  return router;
}

export function publicRoutes(web: () => ReleasesWeb): Router {
  const router = Router();
  router.get("/edge/releases/:id/package", (req, res) => {
    const { service, ports } = web();
    const edgeId = req.get("x-bv-edge-id") ?? "";
    const token = /^Bearer (.+)$/.exec(req.get("authorization") ?? "")?.[1] ?? "";
    if (!edgeId || !token || !ports.authenticateEdge(edgeId, token))
      throw new HttpError(401, "UNAUTHENTICATED", "an edge's id (X-BV-Edge-Id) and token (Authorization: Bearer) are required");
    const path = service.packagePath(String(req.params.id));
    if (!path || !existsSync(path)) throw new HttpError(404, "NOT_FOUND", `no release ${JSON.stringify(req.params.id)}`);
    res.type("application/vnd.debian.binary-package").sendFile(path, { acceptRanges: true, cacheControl: false });
  });
  return router;
}
