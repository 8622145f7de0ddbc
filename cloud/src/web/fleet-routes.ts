/** Catalog, sites, edges and devices: the fleet read model over HTTP. */
import { catalog } from "@bitvelocity/devices";
import { Router } from "express";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";
import { QueryReader } from "./query.js";

export function fleetRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get("/api/catalog", (_req, res) => {
    res.json({ types: [...catalog.values()] });
  });
  router.get("/api/sites", (_req, res) => {
    res.json({ sites: deps.fleet.sites() });
  });
  router.get("/api/edges", (_req, res) => {
    res.json({ edges: deps.fleet.edges() });
  });
  router.get("/api/edges/:id", (req, res) => {
    const edge = deps.fleet.edge(req.params.id);
    if (!edge) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(req.params.id)}`);
    res.json({ edge });
  });
  // Holes in the data (gap records) and refused readings (dead letters), newest first.
  router.get("/api/edges/:id/gaps", async (req, res) => {
    const limit = edgeListQuery(deps, req.params.id, req.query);
    res.json({ gaps: await deps.records.gaps(req.params.id, limit) });
  });
  router.get("/api/edges/:id/dead-letters", async (req, res) => {
    const limit = edgeListQuery(deps, req.params.id, req.query);
    res.json({ deadLetters: await deps.records.deadLetters(req.params.id, limit) });
  });
  // Edge credentials (admin): a new token, shown once; or refuse the edge from now on.
  router.post("/api/edges/:id/token", requireRole("admin"), async (req, res) => {
    const edgeId = knownEdge(deps, String(req.params.id));
    const token = await deps.edgeAccess.rotateToken(edgeId, currentUser(res).username);
    await audit(deps, res, "edge.token.rotate", edgeId);
    res.status(201).json({ edgeId, token });
  });
  router.post("/api/edges/:id/revoke", requireRole("admin"), async (req, res) => {
    const edgeId = knownEdge(deps, String(req.params.id));
    await deps.edgeAccess.revoke(edgeId, currentUser(res).username);
    await audit(deps, res, "edge.revoke", edgeId);
    res.status(204).end();
  });
  router.get("/api/devices", (req, res) => {
    const q = new QueryReader(req.query);
    const filter = {
      site: q.string("site"),
      edge: q.string("edge"),
      type: q.string("type"),
      q: q.string("q"),
      state: q.oneOf("state", ["online", "offline"] as const),
    };
    q.done();
    res.json({ devices: deps.fleet.devices(filter) });
  });
  router.get("/api/devices/:id", (req, res) => {
    const device = deps.fleet.device(req.params.id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    res.json({ device });
  });
  return router;
}

function knownEdge(deps: WebDeps, edgeId: string): string {
  if (!deps.fleet.edge(edgeId)) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(edgeId)}`);
  return edgeId;
}

function edgeListQuery(deps: WebDeps, edgeId: string, query: Record<string, unknown>): number {
  const q = new QueryReader(query);
  const limit = q.integer("limit", 1, 1000) ?? 100;
  q.done();
  knownEdge(deps, edgeId);
  return limit;
}
