/** Catalog, sites, edges and devices: the fleet read model over HTTP. */
import { fleetRoutes as contract } from "@bitvelocity/api";
import { catalog } from "@bitvelocity/devices";
import { type Request, Router } from "express";
import { parseQuery, reply } from "../platform/validate.js";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function fleetRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get(contract.catalog.path, (_req, res) => {
    reply(res, contract.catalog, { types: [...catalog.values()] });
  });
  router.get(contract.sites.path, (_req, res) => {
    reply(res, contract.sites, { sites: deps.fleet.sites() });
  });
  router.get(contract.edges.path, (_req, res) => {
    reply(res, contract.edges, { edges: deps.fleet.edges() });
  });
  router.get(contract.edge.path, (req, res) => {
    const edge = deps.fleet.edge(req.params.id);
    if (!edge) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(req.params.id)}`);
    reply(res, contract.edge, { edge });
  });
  // Holes in the data (gap records) and refused readings (dead letters), newest first.
  router.get(contract.gaps.path, async (req, res) => {
    const limit = edgeListQuery(deps, req);
    reply(res, contract.gaps, { gaps: await deps.records.gaps(req.params.id, limit) });
  });
  router.get(contract.deadLetters.path, async (req, res) => {
    const limit = edgeListQuery(deps, req);
    reply(res, contract.deadLetters, { deadLetters: await deps.records.deadLetters(req.params.id, limit) });
  });
  // Edge credentials (admin): a new token, shown once; or refuse the edge from now on.
  router.post(contract.rotateEdgeToken.path, requireRole("admin"), async (req, res) => {
    const edgeId = knownEdge(deps, String(req.params.id));
    const token = await deps.edgeAccess.rotateToken(edgeId, currentUser(res).username);
    await audit(deps, res, "edge.token.rotate", edgeId);
    reply(res, contract.rotateEdgeToken, { edgeId, token });
  });
  router.post(contract.revokeEdge.path, requireRole("admin"), async (req, res) => {
    const edgeId = knownEdge(deps, String(req.params.id));
    await deps.edgeAccess.revoke(edgeId, currentUser(res).username);
    await audit(deps, res, "edge.revoke", edgeId);
    reply(res, contract.revokeEdge, undefined);
  });
  router.get(contract.devices.path, (req, res) => {
    const filter = parseQuery(contract.devices.query, req);
    reply(res, contract.devices, { devices: deps.fleet.devices(filter) });
  });
  router.get(contract.device.path, (req, res) => {
    const device = deps.fleet.device(req.params.id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    reply(res, contract.device, { device });
  });
  return router;
}

function knownEdge(deps: WebDeps, edgeId: string): string {
  if (!deps.fleet.edge(edgeId)) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(edgeId)}`);
  return edgeId;
}

function edgeListQuery(deps: WebDeps, req: Request<{ id: string }>): number {
  const { limit } = parseQuery(contract.gaps.query, req);
  knownEdge(deps, req.params.id);
  return limit ?? 100;
}
