/** One JSON error shape for the whole API: `{error: {code, message, problems?}}`. */
import { isBvError } from "@bitvelocity/common";
import type { ErrorRequestHandler, Response } from "express";
import { type Problem, ValidationError } from "../platform/errors.js";
import { HttpError } from "../platform/http.js";
import type { Logger } from "../platform/logger.js";

export { HttpError } from "../platform/http.js";

export function sendError(res: Response, status: number, code: string, message: string, problems?: readonly Problem[]): void {
  res.status(status).json({ error: problems && problems.length > 0 ? { code, message, problems } : { code, message } });
}

const BV_STATUS: Record<string, number> = { VALIDATION_FAILED: 400, NOT_FOUND: 404, CONFLICT: 409 };

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, err.problems);
    if (err instanceof ValidationError) return sendError(res, 400, err.code, err.message, err.problems);
    if (isBvError(err) && BV_STATUS[err.code] !== undefined) return sendError(res, BV_STATUS[err.code]!, err.code, err.message);
    // body-parser errors carry a `type` and a `status`.
    const type = (err as { type?: unknown }).type;
    if (type === "entity.parse.failed") return sendError(res, 400, "BAD_JSON", "the request body is not valid JSON");
    if (type === "entity.too.large") return sendError(res, 413, "PAYLOAD_TOO_LARGE", "the request body is too large");
    const status = (err as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return sendError(res, status, "BAD_REQUEST", (err as Error).message ?? "bad request");
    }
    logger.error({ err }, "request failed");
    sendError(res, 500, "INTERNAL", "internal error");
  };
}
