/** The express app: JSON API under /api (session required except login), ops endpoints, the dashboard. */
import express, { type Express } from "express";
import { alertRoutes } from "./alert-routes.js";
import { loginRoutes, requireSession, sessionRoutes } from "./auth-routes.js";
import { commandRoutes } from "./command-routes.js";
import type { WebDeps } from "./deps.js";
import { fleetRoutes } from "./fleet-routes.js";
import { errorHandler, HttpError } from "./http-errors.js";
import { openApiRoutes } from "./openapi-routes.js";
import { opsRoutes } from "./ops-routes.js";
import { csrfGuard, securityHeaders } from "./security.js";
import { dashboardRoutes } from "./static-dashboard.js";
import { streamRoutes } from "./stream-routes.js";
import { telemetryRoutes } from "./telemetry-routes.js";
import { tokenRoutes } from "./token-routes.js";

/** Mounts everything on `app` (the platform's express app, already attached to the HTTP server). */
export function createApp(app: Express, deps: WebDeps): Express {
  app.disable("x-powered-by");
  app.use(securityHeaders());
  app.use(express.json({ limit: "64kb" }));
  app.use(
    "/api",
    csrfGuard(() => deps.allowedOrigins ?? []),
  );
  app.use(opsRoutes(deps));
  app.use(loginRoutes(deps));
  app.use(openApiRoutes());
  for (const routes of deps.publicModuleRoutes ?? []) app.use(routes);
  app.use("/api", requireSession(deps));
  app.use(sessionRoutes(deps));
  app.use(fleetRoutes(deps));
  app.use(telemetryRoutes(deps));
  app.use(commandRoutes(deps));
  app.use(alertRoutes(deps));
  app.use(tokenRoutes(deps));
  app.use(streamRoutes(deps));
  for (const routes of deps.moduleRoutes) app.use("/api", routes);
  app.use("/api", () => {
    throw new HttpError(404, "NOT_FOUND", "no such API route");
  });
  app.use(dashboardRoutes(deps.dashboardDir));
  app.use(errorHandler(deps.logger));
  return app;
}
