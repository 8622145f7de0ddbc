/** Health and Prometheus metrics: no session needed (scrapers and load balancers). */
import { Router } from "express";
import type { WebDeps } from "./deps.js";

export function opsRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get("/healthz", async (_req, res) => {
    const results = await deps.health();
    const checks = Object.fromEntries(Object.entries(results).map(([name, ok]) => [name, ok ? "ok" : "failing"]));
    const healthy = Object.values(results).every(Boolean);
    res.status(healthy ? 200 : 503).json({ status: healthy ? "ok" : "degraded", checks });
  });
  router.get("/metrics", async (_req, res) => {
    res.set("Content-Type", deps.registry.contentType);
    res.send(await deps.registry.metrics());
  });
  return router;
}
