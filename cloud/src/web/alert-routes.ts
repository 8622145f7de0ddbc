/** Alerts: everyone reads; operators acknowledge and resolve; admins edit the rules. */
import { Router } from "express";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";
import { QueryReader } from "./query.js";

const STATES = ["open", "acknowledged", "resolved", "active"] as const;

export function alertRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get("/api/alerts", async (req, res) => {
    const q = new QueryReader(req.query);
    const query = { state: q.oneOf("state", STATES), subject: q.string("subject"), limit: q.integer("limit", 1, 1000) ?? 200 };
    q.done();
    res.json({ alerts: await deps.alerts.alerts(query) });
  });
  router.get("/api/alerts/:id", async (req, res) => {
    res.json({ alert: await deps.alerts.alert(String(req.params.id)) });
  });
  router.post("/api/alerts/:id/ack", requireRole("operator"), async (req, res) => {
    const alert = await deps.alerts.acknowledge(String(req.params.id), currentUser(res).username);
    await audit(deps, res, "alert.acknowledge", alert.id, { rule: alert.ruleName, subject: alert.subjectId });
    res.json({ alert });
  });
  router.post("/api/alerts/:id/resolve", requireRole("operator"), async (req, res) => {
    const alert = await deps.alerts.resolve(String(req.params.id), currentUser(res).username);
    await audit(deps, res, "alert.resolve", alert.id, { rule: alert.ruleName, subject: alert.subjectId });
    res.json({ alert });
  });

  router.get("/api/alert-rules", async (_req, res) => {
    res.json({ rules: await deps.alerts.rules() });
  });
  router.get("/api/alert-rules/:id", async (req, res) => {
    res.json({ rule: await deps.alerts.rule(String(req.params.id)) });
  });
  router.post("/api/alert-rules", requireRole("admin"), async (req, res) => {
    const rule = await deps.alerts.createRule(req.body, currentUser(res).username);
    await audit(deps, res, "rule.create", rule.id, { name: rule.name, kind: rule.kind, params: rule.params });
    res.status(201).json({ rule });
  });
  router.put("/api/alert-rules/:id", requireRole("admin"), async (req, res) => {
    const rule = await deps.alerts.updateRule(String(req.params.id), req.body);
    await audit(deps, res, "rule.update", rule.id, { name: rule.name, kind: rule.kind, enabled: rule.enabled, params: rule.params });
    res.json({ rule });
  });
  router.delete("/api/alert-rules/:id", requireRole("admin"), async (req, res) => {
    await deps.alerts.deleteRule(String(req.params.id));
    await audit(deps, res, "rule.delete", String(req.params.id));
    res.status(204).end();
  });
  return router;
}
