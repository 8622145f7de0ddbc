/** GET /api/openapi.json: the OpenAPI 3.1 document of the wire contract, built once from its zod schemas. */
import { API_VERSION, apiRoutes, openApiRoutes as contract, openApiDocument } from "@bitvelocity/api";
import { Router } from "express";
import { reply } from "../platform/validate.js";

export function openApiRoutes(): Router {
  const router = Router();
  let document: Record<string, unknown> | undefined;
  router.get(contract.document.path, (_req, res) => {
    document ??= openApiDocument(apiRoutes, { title: "BitVelocity cloud API", version: API_VERSION });
    reply(res, contract.document, document);
  });
  return router;
}
