/** Sending commands (operator or admin) and following their status. */
import { commandRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import { parseBody, reply } from "../platform/validate.js";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function commandRoutes(deps: WebDeps): Router {
  const router = Router();
  router.post(contract.send.path, requireRole("operator"), async (req, res) => {
    const body = parseBody(contract.send.body, req, "invalid command");
    const command = await deps.commands.create({
      deviceId: String(req.params.id),
      name: body.name,
      params: body.params,
      ttlS: body.ttl_s,
      requestedBy: currentUser(res).username,
    });
    await audit(deps, res, "command.send", command.deviceId, { commandId: command.id, name: command.name, params: command.params });
    reply(res, contract.send, { command });
  });
  router.get(contract.forDevice.path, async (req, res) => {
    if (!deps.fleet.device(req.params.id)) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(req.params.id)}`);
    reply(res, contract.forDevice, { commands: await deps.commands.forDevice(req.params.id) });
  });
  router.get(contract.get.path, async (req, res) => {
    const command = await deps.commands.get(req.params.id);
    if (!command) throw new HttpError(404, "NOT_FOUND", `unknown command ${JSON.stringify(req.params.id)}`);
    reply(res, contract.get, { command });
  });
  return router;
}
