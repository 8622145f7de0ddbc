/**
 * @bitvelocity/api — the wire contract between the cloud and its clients (DESIGN.md §4):
 * REST request/response schemas as zod schemas (the server validates every body and query with
 * them; the dashboard imports their inferred types) and the socket.io event maps. One file per
 * domain; this index re-exports them all, and `apiRoutes` lists every REST route for the
 * OpenAPI document (openapi.ts) and the test that keeps it in sync with the server.
 */
import { alertRoutes } from "./alerts.js";
import { authRoutes } from "./auth.js";
import { chatRoutes } from "./chat.js";
import { commandRoutes } from "./commands.js";
import { commerceRoutes } from "./commerce.js";
import type { RouteDef } from "./common.js";
import { edgeConfigRoutes } from "./edge-config.js";
import { fleetRoutes } from "./fleet.js";
import { openApiRoutes } from "./openapi.js";
import { provisioningRoutes } from "./provisioning.js";
import { releaseRoutes } from "./releases.js";
import { telemetryRoutes } from "./telemetry.js";
import { tokenRoutes } from "./tokens.js";
import { userRoutes } from "./users.js";

export * from "./alerts.js";
export * from "./auth.js";
export * from "./chat.js";
export * from "./chat-stream.js";
export * from "./chat-text.js";
export * from "./commands.js";
export * from "./commerce.js";
export * from "./common.js";
export * from "./edge-config.js";
export * from "./fleet.js";
export type * from "./live.js";
export * from "./money.js";
export * from "./openapi.js";
export * from "./provisioning.js";
export * from "./releases.js";
export * from "./telemetry.js";
export * from "./tokens.js";
export * from "./users.js";

/** Every REST route, by domain. A new domain adds its `…Routes` object here. */
export const apiRoutes: Readonly<Record<string, Readonly<Record<string, RouteDef>>>> = {
  auth: authRoutes,
  fleet: { ...fleetRoutes, ...edgeConfigRoutes },
  telemetry: telemetryRoutes,
  commands: commandRoutes,
  alerts: alertRoutes,
  tokens: tokenRoutes,
  users: userRoutes,
  provisioning: provisioningRoutes,
  releases: releaseRoutes,
  chat: chatRoutes,
  commerce: commerceRoutes,
  meta: openApiRoutes,
};
