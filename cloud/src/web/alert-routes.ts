/** Alerts: everyone reads; operators acknowledge and resolve; admins edit the rules. */
import { alertRoutes as contract } from "@bitvelocity/api";
import { Router } from "express";
import { parseBody, parseQuery, reply } from "../platform/validate.js";
import { audit } from "./audit.js";
import { currentUser, requireRole } from "./auth-routes.js";
import type { WebDeps } from "./deps.js";

export function alertRoutes(deps: WebDeps): Router {
  const router = Router();
  router.get(contract.alerts.path, async (req, res) => {
    const { state, subject, limit = 200 } = parseQuery(contract.alerts.query, req);
    reply(res, contract.alerts, { alerts: await deps.alerts.alerts({ state, subject, limit }) });
  });
  router.get(contract.alert.path, async (req, res) => {
    reply(res, contract.alert, { alert: await deps.alerts.alert(String(req.params.id)) });
  });
  router.post(contract.ack.path, requireRole("operator"), async (req, res) => {
    const alert = await deps.alerts.acknowledge(String(req.params.id), currentUser(res).username);
    await audit(deps, res, "alert.acknowledge", alert.id, { rule: alert.ruleName, subject: alert.subjectId });
    reply(res, contract.ack, { alert });
  });
  router.post(contract.resolve.path, requireRole("operator"), async (req, res) => {
    const alert = await deps.alerts.resolve(String(req.params.id), currentUser(res).username);
    await audit(deps, res, "alert.resolve", alert.id, { rule: alert.ruleName, subject: alert.subjectId });
    reply(res, contract.resolve, { alert });
  });

  router.get(contract.rules.path, async (_req, res) => {
    reply(res, contract.rules, { rules: await deps.alerts.rules() });
  });
  router.get(contract.rule.path, async (req, res) => {
    reply(res, contract.rule, { rule: await deps.alerts.rule(String(req.params.id)) });
  });
  router.post(contract.createRule.path, requireRole("admin"), async (req, res) => {
    const rule = await deps.alerts.createRule(parseBody(contract.createRule.body, req, "invalid alert rule"), currentUser(res).username);
    await audit(deps, res, "rule.create", rule.id, { name: rule.name, kind: rule.kind, params: rule.params });
    reply(res, contract.createRule, { rule });
  });
  router.put(contract.updateRule.path, requireRole("admin"), async (req, res) => {
    const rule = await deps.alerts.updateRule(String(req.params.id), parseBody(contract.updateRule.body, req, "invalid alert rule"));
    await audit(deps, res, "rule.update", rule.id, { name: rule.name, kind: rule.kind, enabled: rule.enabled, params: rule.params });
    reply(res, contract.updateRule, { rule });
  });
  router.delete(contract.deleteRule.path, requireRole("admin"), async (req, res) => {
    await deps.alerts.deleteRule(String(req.params.id));
    await audit(deps, res, "rule.delete", String(req.params.id));
    reply(res, contract.deleteRule, undefined);
  });
  return router;
}
