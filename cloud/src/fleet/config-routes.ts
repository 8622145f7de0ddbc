/**
 * GET and POST /api/edges/:id/config: an edge's remote configuration (admin only). A refused
 * caller gets 403 and the refusal is audited: configuration holds the edge's secrets.
 */
import { edgeConfigRoutes as contract } from "@bitvelocity/api";
import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import type { AuditLog } from "../identity/audit-log.js";
import { hasRole } from "../identity/index.js";
import { auditAs, currentUser, HttpError } from "../platform/http.js";
import { modulePath, parseBody, reply } from "../platform/validate.js";
import type { EdgeConfigs } from "./edge-configs.js";
import type { FleetRegistry } from "./fleet-registry.js";

interface Parts {
  registry: FleetRegistry;
  configs: EdgeConfigs;
  audit: AuditLog;
}

export function configRoutes(parts: () => Parts): Router {
  const router = Router();
  const adminOnly = (req: Request, res: Response, next: NextFunction): void => {
    const user = currentUser(res);
    if (hasRole(user.role, "admin")) {
      next();
      return;
    }
    const refusal = new HttpError(403, "FORBIDDEN", `this needs the admin role; you are ${user.role}`);
    auditAs(parts().audit, res, "edge.config.refused", String(req.params.id), { method: req.method, role: user.role }).then(
      () => next(refusal),
      (err: unknown) => next(err),
    );
  };
  const edgeOf = (req: Request): string => {
    const edgeId = String(req.params.id);
    if (!parts().registry.edge(edgeId)) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(edgeId)}`);
    return edgeId;
  };

  router.get(modulePath(contract.edgeConfig), adminOnly, async (req, res) => {
    reply(res, contract.edgeConfig, await parts().configs.view(edgeOf(req)));
  });

  router.post(modulePath(contract.saveEdgeConfig), adminOnly, async (req, res) => {
    const edgeId = edgeOf(req);
    const { yaml, baseVersion } = parseBody(contract.saveEdgeConfig.body, req, "yaml is required");
    const { configs } = parts();
    const user = currentUser(res);
    const version = await configs.save(edgeId, yaml, baseVersion, { username: user.username, via: user.via });
    reply(res, contract.saveEdgeConfig, { version, view: await configs.view(edgeId) });
  });
  return router;
}
