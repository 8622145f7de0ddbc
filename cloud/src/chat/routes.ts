/** Chat's REST routes (mounted under /api behind the session guard; paths from the contract). */
import { chatRoutes as contract, type RouteDef } from "@bitvelocity/api";
import { Router } from "express";
import { currentUser, HttpError } from "../platform/http.js";
import { parseBody, parseQuery, reply } from "../platform/validate.js";
import type { ChatService } from "./chat-service.js";

/** The contract's path without the `/api` mount point. */
const at = (r: RouteDef) => r.path.replace(/^\/api/, "");

function seqParam(raw: unknown): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new HttpError(400, "VALIDATION_FAILED", "expected a message seq (an integer ≥ 1)");
  return n;
}

export function chatRouter(service: () => ChatService): Router {
  const router = Router();
  router.get(at(contract.rooms), async (_req, res) => {
    reply(res, contract.rooms, { rooms: await service().rooms(currentUser(res)) });
  });
  router.post(at(contract.direct), async (req, res) => {
    const body = parseBody(contract.direct.body, req, "invalid direct room");
    reply(res, contract.direct, { room: await service().openDirect(currentUser(res), body.user) });
  });
  router.get(at(contract.history), async (req, res) => {
    const q = parseQuery(contract.history.query, req);
    if (q.before !== undefined && q.after !== undefined) throw new HttpError(400, "VALIDATION_FAILED", "give before or after, not both");
    reply(res, contract.history, await service().history(currentUser(res), String(req.params.id), q));
  });
  router.post(at(contract.send), async (req, res) => {
    const body = parseBody(contract.send.body, req, "invalid message");
    reply(res, contract.send, await service().send(currentUser(res), String(req.params.id), body.clientId, body.text));
  });
  router.put(at(contract.edit), async (req, res) => {
    const body = parseBody(contract.edit.body, req, "invalid message");
    const message = await service().edit(currentUser(res), String(req.params.id), seqParam(req.params.seq), body.text);
    reply(res, contract.edit, { message });
  });
  router.delete(at(contract.remove), async (req, res) => {
    reply(res, contract.remove, { message: await service().remove(currentUser(res), String(req.params.id), seqParam(req.params.seq)) });
  });
  router.post(at(contract.read), async (req, res) => {
    const body = parseBody(contract.read.body, req, "invalid read marker");
    reply(res, contract.read, { room: await service().markRead(currentUser(res), String(req.params.id), body.seq) });
  });
  return router;
}
