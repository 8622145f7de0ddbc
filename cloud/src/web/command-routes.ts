/** Sending commands (operator or admin) and following their status. */
import { Router } from "express";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function commandRoutes(deps: WebDeps): Router {
  const router = Router();
  router.post("/api/devices/:id/commands", requireRole("operator"), async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "VALIDATION_FAILED", "expected a JSON object {name, params, ttl_s?}");
    }
    const command = await deps.commands.create({
      deviceId: String(req.params.id),
      name: body.name,
      params: body.params,
      ttlS: body.ttl_s,
      requestedBy: currentUser(res).username,
    });
    await audit(deps, res, "command.send", command.deviceId, { commandId: command.id, name: command.name, params: command.params });
    res.status(202).json({ command });
  });
  router.get("/api/devices/:id/commands", async (req, res) => {
    if (!deps.fleet.device(req.params.id)) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    res.json({ commands: await deps.commands.forDevice(req.params.id) });
  });
  router.get("/api/commands/:id", async (req, res) => {
    const command = await deps.commands.get(req.params.id);
    if (!command) throw new HttpError(404, "NOT_FOUND", `unknown command ${JSON.stringify(req.params.id)}`);
    res.json({ command });
  });
  return router;
}
