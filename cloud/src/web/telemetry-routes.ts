/** Readings and series of one device, straight from the telemetry store. */
import { telemetryRoutes as contract } from "@bitvelocity/api";
import { deviceType } from "@bitvelocity/devices";
import { Router } from "express";
import { checkQuery, parseQuery, refuse, reply } from "../platform/validate.js";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";

export function telemetryRoutes(deps: WebDeps): Router {
  const router = Router();
  const known = (id: string) => {
    const device = deps.fleet.device(id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(id)}`);
    return device;
  };
  router.get(contract.readings.path, async (req, res) => {
    const device = known(req.params.id);
    const { from, to, limit = 1000 } = parseQuery(contract.readings.query, req);
    const rows = await deps.telemetry.readings(device.id, { from, to, limit });
    reply(res, contract.readings, {
      readings: rows.map((r) => ({
        edgeId: r.edgeId,
        seq: r.seq,
        ts: r.ts,
        deviceTimeMs: r.deviceTimeMs,
        edgeTimeMs: r.edgeTimeMs,
        receivedAt: r.receivedAt,
        values: r.values,
      })),
    });
  });
  router.get(contract.series.path, async (req, res) => {
    const device = known(req.params.id);
    const { data, problems } = checkQuery(contract.series.query, req);
    // The metric must be one of this device type's: only the server knows, so it joins the schema's problems.
    const metric = typeof req.query.metric === "string" ? req.query.metric : undefined;
    const type = deviceType(device.type);
    if (metric !== undefined && metric !== "" && type && !type.metrics.some((m) => m.name === metric)) {
      problems.push({ path: "metric", message: `device type ${type.type} has no metric ${JSON.stringify(metric)}` });
    }
    refuse(problems);
    if (!data) return;
    const { from, to, resolution = "raw" } = data;
    reply(res, contract.series, { points: await deps.telemetry.series(device.id, data.metric, { from, to, resolution }) });
  });
  return router;
}
