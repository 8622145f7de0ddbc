/**
 * The contract and the server stay in sync: every /api route express serves is in the contract
 * (@bitvelocity/api) and so in GET /api/openapi.json, and every route of the contract is served.
 * Also checks real answers against the contract's response schemas.
 */
import { apiRoutes, openApiPath, type RouteDef } from "@bitvelocity/api";
import { silentLogger } from "@bitvelocity/common";
import express, { type Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudModules } from "./main.js";
import { startTestCloud, type TestCloud } from "./test-support.js";
import { createApp } from "./web/app.js";
import type { WebDeps } from "./web/deps.js";

interface Layer {
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly Layer[] };
  readonly rawPath?: unknown;
}

/** `METHOD /path` of every route registered on the app, mounted routers included. */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: readonly Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on) out.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : "";
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  const router: unknown = Reflect.get(app, "router");
  const stack: unknown = typeof router === "function" || typeof router === "object" ? Reflect.get(router ?? {}, "stack") : undefined;
  walk(Array.isArray(stack) ? stack : [], "");
  return out.filter((r) => r.split(" ")[1]?.startsWith("/api/")).sort();
}

const contractRoutes = (): RouteDef[] => Object.values(apiRoutes).flatMap((group) => Object.values(group));
const key = (r: RouteDef) => `${r.method.toUpperCase()} ${r.path}`;

describe("the wire contract and the express app", () => {
  it("serve exactly the same /api routes", () => {
    const { modules } = cloudModules();
    // Only registration runs here: no handler is called, so the services are never touched.
    const deps = {
      moduleRoutes: modules.flatMap((m) => (m.routes ? [m.routes()] : [])),
      publicModuleRoutes: modules.flatMap((m) => (m.publicRoutes ? [m.publicRoutes()] : [])),
      dashboardDir: "/nonexistent",
      logger: silentLogger(),
    } as unknown as WebDeps;
    const served = servedRoutes(createApp(express(), deps));
    expect(served.length).toBeGreaterThan(20);
    expect(served).toEqual(contractRoutes().map(key).sort());
  });
});

describe("GET /api/openapi.json", () => {
  let t: TestCloud;
  let admin: string;
  beforeAll(async () => {
    t = await startTestCloud();
    admin = await t.login("admin");
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is public, OpenAPI 3.1, and lists every route of the contract", async () => {
    const res = await fetch(`${t.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: object }>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(
      contractRoutes()
        .map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`)
        .sort(),
    );
    expect(doc.paths["/api/devices/{id}/commands"]?.post?.responses).toHaveProperty("202");
  });

  it("answers the GET routes with bodies that match their response schemas", async () => {
    for (const r of contractRoutes()) {
      if (r.method !== "get" || r.path.includes(":") || r.contentType) continue;
      const res = await t.api(r.path, admin);
      expect(res.status, r.path).toBe(r.status);
      const parsed = r.response.safeParse(await res.json());
      expect(parsed.success ? [] : parsed.error.issues, r.path).toEqual([]);
    }
  });
});
