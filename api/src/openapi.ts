/**
 * The OpenAPI 3.1 document, generated from the route catalogue and its zod schemas
 * (zod's own JSON Schema output, draft 2020-12, which OpenAPI 3.1 uses as its schema dialect).
 * Query and body schemas are described as the client sends them (`io: "input"`), responses as
 * the server sends them.
 */
import { z } from "zod";
import { ApiError, type RouteDef, route } from "./common.js";

/** The contract's version, in the document's `info`; bumped with a breaking change to any route. */
export const API_VERSION = "0.1.0";

/** The document itself is a route of the API (no session needed: the contract is public). */
export const openApiRoutes = {
  document: route({
    method: "get",
    path: "/api/openapi.json",
    summary: "This OpenAPI 3.1 document",
    public: true,
    status: 200,
    response: z.record(z.string(), z.unknown()),
  }),
};

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" });
  return rest;
}

/** Express `/api/devices/:id` → OpenAPI `/api/devices/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function parameters(r: RouteDef): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const m of r.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    out.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
  }
  if (r.query instanceof z.ZodObject) {
    for (const [name, prop] of Object.entries(r.query.shape as Record<string, z.ZodType>)) {
      out.push({ name, in: "query", required: !prop.safeParse(undefined).success, schema: schemaOf(prop, "input") });
    }
  }
  return out;
}

function operation(r: RouteDef): JsonSchema {
  const error = { description: "refused", content: { "application/json": { schema: schemaOf(ApiError, "output") } } };
  const success =
    r.status === 204
      ? { description: "done (no body)" }
      : { description: "ok", content: { [r.contentType ?? "application/json"]: { schema: schemaOf(r.response, "output") } } };
  const op: JsonSchema = {
    summary: r.summary,
    parameters: parameters(r),
    responses: {
      [String(r.status)]: success,
      "400": error,
      ...(r.public ? {} : { "401": error }),
      ...(r.role ? { "403": error } : {}),
      ...(r.path.includes(":") ? { "404": error } : {}),
    },
  };
  if (r.role) op["x-bv-role"] = r.role;
  if (r.public) op.security = [];
  if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: schemaOf(r.body, "input") } } };
  return op;
}

/** Builds the document for a set of routes (grouped by tag, e.g. `{fleet: fleetRoutes}`). */
export function openApiDocument(
  groups: Readonly<Record<string, Readonly<Record<string, RouteDef>>>>,
  info: { title: string; version: string },
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [tag, routes] of Object.entries(groups)) {
    for (const [operationId, r] of Object.entries(routes)) {
      const path = openApiPath(r.path);
      paths[path] ??= {};
      paths[path][r.method] = { operationId: `${tag}.${operationId}`, tags: [tag], ...operation(r) };
    }
  }
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    security: [{ session: [] }, { bearer: [] }],
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "bv_session" },
        bearer: { type: "http", scheme: "bearer", description: "a session token or an API token (bvt_…)" },
      },
    },
    paths,
  };
}
