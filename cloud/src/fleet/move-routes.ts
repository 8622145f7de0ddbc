/** POST /api/devices/:id/move: an admin gives a device to another edge (audited). */
import { fleetRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import type { AuditLog } from "../identity/audit-log.js";
import { auditAs, currentUser, HttpError, requireRole } from "../platform/http.js";
import { modulePath, parseBody, reply } from "../platform/validate.js";
import type { DeviceOwners } from "./device-owners.js";
import type { FleetRegistry } from "./fleet-registry.js";

export function moveRoutes(parts: () => { registry: FleetRegistry; owners: DeviceOwners; audit: AuditLog }): Router {
  const router = Router();
  router.post(modulePath(contract.moveDevice), requireRole("admin"), async (req, res) => {
    const { edgeId } = parseBody(contract.moveDevice.body, req, "edgeId is required");
    const { registry, owners, audit } = parts();
    const deviceId = String(req.params.id);
    if (!registry.edge(edgeId)) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(edgeId)}`);
    if (!registry.device(deviceId) && (await owners.ownerOf(deviceId)) === undefined)
      throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(deviceId)}`);
    const previous = await owners.move(deviceId, edgeId, currentUser(res).username);
    const device = registry.moveDevice(deviceId, edgeId);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown edge ${JSON.stringify(edgeId)}`);
    await auditAs(audit, res, "device.move", deviceId, { from: previous ?? null, to: edgeId });
    reply(res, contract.moveDevice, { device, previousEdgeId: previous ?? null });
  });
  return router;
}
