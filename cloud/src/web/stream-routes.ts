/** GET /api/devices/:id/stream: a device's readings as Server-Sent Events, for curl and scripts. */
import { telemetryRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function streamRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get(contract.stream.path, (req, res) => {
    const device = deps.fleet.device(req.params.id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    deps.sse.open(res, device);
  });
  return router;
}
