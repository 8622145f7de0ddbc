/** Readings and series of one device, straight from the telemetry store. */
import { deviceType } from "@bitvelocity/devices";
import { Router } from "express";
import type { WebDeps } from "./deps.js";
import { HttpError } from "./http-errors.js";
import { QueryReader } from "./query.js";

const MAX_MS = 8_640_000_000_000_000; // the largest Date

export function telemetryRoutes(deps: WebDeps): Router {
  const router = Router();
  const known = (id: string) => {
    const device = deps.fleet.device(id);
    if (!device) throw new HttpError(404, "NOT_FOUND", `unknown device ${JSON.stringify(id)}`);
    return device;
  };
  router.get("/api/devices/:id/readings", async (req, res) => {
    const device = known(req.params.id);
    const q = new QueryReader(req.query);
    const from = q.integer("from", 0, MAX_MS);
    const to = q.integer("to", 0, MAX_MS);
    const limit = q.integer("limit", 1, 10_000) ?? 1000;
    q.done();
    const rows = await deps.telemetry.readings(device.id, { from, to, limit });
    res.json({
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
  router.get("/api/devices/:id/series", async (req, res) => {
    const device = known(req.params.id);
    const q = new QueryReader(req.query);
    const metric = q.string("metric");
    const from = q.integer("from", 0, MAX_MS);
    const to = q.integer("to", 0, MAX_MS);
    const resolution = q.oneOf("resolution", ["raw", "1m", "1h"] as const) ?? "raw";
    if (metric === undefined) q.problems.push({ path: "metric", message: "is required" });
    const type = deviceType(device.type);
    if (metric !== undefined && type && !type.metrics.some((m) => m.name === metric)) {
      q.problems.push({ path: "metric", message: `device type ${type.type} has no metric ${JSON.stringify(metric)}` });
    }
    q.done();
    res.json({ points: await deps.telemetry.series(device.id, metric!, { from, to, resolution }) });
  });
  return router;
}
