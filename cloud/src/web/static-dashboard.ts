/**
 * Serves the built dashboard (vite output) with an index.html fallback for client-side routes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Request, type Response, Router } from "express";

/** Where the dashboard build is: cloud/dist/dashboard (this compiled file is cloud/dist/web/static-dashboard.js). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL("../dashboard/", import.meta.url));
}

export function dashboardRoutes(dir: string): Router {
  const router = Router();
  const index = join(dir, "index.html");
  router.use(express.static(dir, { index: false, fallthrough: true, maxAge: "1h" }));
  router.get(/^(?!\/api(\/|$)|\/socket\.io(\/|$)).*/, (_req: Request, res: Response) => {
    if (!existsSync(index)) {
      res.status(503).type("text/plain").send("dashboard not built: run npm run build\n");
      return;
    }
    res.set("Cache-Control", "no-cache").sendFile(index);
  });
  return router;
}
