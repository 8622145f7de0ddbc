/** GET /api/devices/:id/stream: a device's readings as Server-Sent Events, for curl and scripts. */
import { telemetryRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import { originRefusal } from "../platform/origin.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function streamRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get(contract.stream.path, (req, res) => {
    // EventSource sends Origin: a page of another origin is refused like socket.io's (platform/origin.ts).
    const refusal = originRefusal(req.headers, req.secure, { allowed: deps.allowedOrigins });
    if (refusal) throw new HttpError(403, "ORIGIN_REFUSED", refusal);
    const device = deps.fleet.device(req.params.id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    deps.sse.open(res, device);
  });
  return router;
}
