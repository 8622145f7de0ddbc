/**
 * /api/commerce/…: everyone reads the shop, orders and shelves; operators check out (through the
 * shared entry point, checkout.ts, which GraphQL's placeOrder uses too); admins edit
 * the catalog, stock and shelf bindings and rebuild the read models. A refused attempt (wrong
 * role) is audited before the 403. Paths come from the contract (@bitvelocity/api), mounted under /api.
 */
import { commerceRoutes as contract, type RouteDef } from "@bitvelocity/api";
import { type NextFunction, type Request, type Response, Router } from "express";
import type { AuditLog } from "../identity/audit-log.js";
import { hasRole, type Role } from "../identity/index.js";
import { NotFoundError } from "../platform/errors.js";
import { auditAs, currentUser, HttpError } from "../platform/http.js";
import { parseBody, parseQuery, reply } from "../platform/validate.js";
import { productOf } from "./catalog.js";
import { type Checkout, type CheckoutRefusal, CheckoutRefused } from "./checkout.js";
import { StockWouldGoNegative } from "./inventory.js";
import type { CommerceServices } from "./services.js";

/** A contract path relative to the /api mount. */
const at = (r: RouteDef) => r.path.replace(/^\/api/, "");

/** The HTTP status of each way a checkout ends without a confirmed order (checkout.ts). */
const REFUSAL_STATUS: Record<CheckoutRefusal, number> = {
  FORBIDDEN: 403,
  IDEMPOTENCY_KEY_REUSED: 422,
  OUT_OF_STOCK: 409,
  ORDER_CANCELLED: 409,
  PAYMENTS_UNAVAILABLE: 503,
};

export function commerceRouter(services: () => CommerceServices, audit: () => AuditLog, checkout: () => Checkout): Router {
  const router = Router();
  const guard = (role: Role, action: string) => async (req: Request, res: Response, next: NextFunction) => {
    const user = currentUser(res);
    if (hasRole(user.role, role)) return next();
    await auditAs(audit(), res, "commerce.refused", req.path, { action, role: user.role, needs: role });
    throw new HttpError(403, "FORBIDDEN", `this needs the ${role} role; you are ${user.role}`);
  };

  router.get(at(contract.products), async (req, res) => {
    const { all } = parseQuery(contract.products.query, req);
    reply(res, contract.products, { products: await services().products(all !== undefined) });
  });
  router.put(at(contract.putProduct), guard("admin", "product.put"), async (req, res) => {
    const body = parseBody(contract.putProduct.body, req, "invalid product");
    const s = services();
    const row = await s.catalog.put(String(req.params.sku), body);
    await auditAs(audit(), res, "product.put", row.sku, { priceMinor: row.price_minor, currency: row.currency, active: row.active === 1 });
    const available = await s.inventory.availableAt(s.location);
    reply(res, contract.putProduct, { product: productOf(row, available.get(row.sku) ?? 0) });
  });

  router.get(at(contract.stock), async (_req, res) => {
    reply(res, contract.stock, { stock: await services().inventory.levels() });
  });
  router.put(at(contract.putStock), guard("admin", "stock.put"), async (req, res) => {
    const { onHand } = parseBody(contract.putStock.body, req, "invalid stock");
    const s = services();
    const sku = String(req.params.sku);
    await s.catalog.row(sku);
    const stock = await s.inventory.setOnHand(sku, String(req.params.location), onHand);
    await auditAs(audit(), res, "stock.put", `${sku}@${stock.location}`, { onHand });
    reply(res, contract.putStock, { stock });
  });

  router.post(at(contract.adjustStock), guard("admin", "stock.adjust"), async (req, res) => {
    const { delta, reason } = parseBody(contract.adjustStock.body, req, "invalid stock adjustment");
    const s = services();
    const sku = String(req.params.sku);
    const location = String(req.params.location);
    await s.catalog.row(sku);
    if (!(await s.locations()).includes(location)) throw new NotFoundError("location", location);
    const stock = await s.inventory.adjust(sku, location, delta).catch((err: unknown) => {
      if (err instanceof StockWouldGoNegative) throw new HttpError(409, err.code, err.message);
      throw err;
    });
    await auditAs(audit(), res, "stock.adjust", `${sku}@${location}`, { delta, reason, onHand: stock.onHand });
    reply(res, contract.adjustStock, { stock });
  });

  router.post(at(contract.placeOrder), async (req, res) => {
    const placed = await checkout()
      .place(currentUser(res), req.body, req.get("idempotency-key"), "rest")
      .catch((err: unknown) => {
        if (err instanceof CheckoutRefused) throw new HttpError(REFUSAL_STATUS[err.code], err.code, err.message);
        throw err;
      });
    reply(res, contract.placeOrder, { order: placed.order });
  });
  router.get(at(contract.orders), async (req, res) => {
    const { siteId, status, limit = 100 } = parseQuery(contract.orders.query, req);
    reply(res, contract.orders, { orders: await services().projections.orders({ siteId, status, limit }) });
  });
  router.get(at(contract.order), async (req, res) => {
    const s = services();
    const id = String(req.params.id);
    reply(res, contract.order, { order: await s.projections.order(id), timeline: await s.projections.timeline(id) });
  });
  router.get(at(contract.sales), async (_req, res) => {
    reply(res, contract.sales, { sales: await services().projections.sales() });
  });
  router.post(at(contract.rebuild), guard("admin", "projections.rebuild"), async (_req, res) => {
    const result = await services().projections.rebuild();
    await auditAs(audit(), res, "projections.rebuild", "commerce", result);
    reply(res, contract.rebuild, result);
  });

  router.get(at(contract.shelves), async (_req, res) => {
    reply(res, contract.shelves, { shelves: await services().shelves.shelves() });
  });
  router.get(at(contract.shelfStream), async (req, res) => {
    const shelves = services().shelves;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (shelf: unknown) => res.write(`event: shelf\ndata: ${JSON.stringify(shelf)}\n\n`);
    for (const shelf of await shelves.shelves()) send(shelf);
    const off = shelves.onChange(send);
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    req.on("close", () => {
      off();
      clearInterval(ping);
    });
  });
  router.put(at(contract.putShelf), guard("admin", "shelf.put"), async (req, res) => {
    const body = parseBody(contract.putShelf.body, req, "invalid shelf binding");
    const s = services();
    const shelf = await s.shelves.bind(String(req.params.deviceId), body, async (sku) => (await s.catalog.rowsBySku([sku])).get(sku)?.kind);
    await auditAs(audit(), res, "shelf.put", shelf.deviceId, { sku: shelf.sku, low: shelf.lowThreshold, high: shelf.highThreshold });
    reply(res, contract.putShelf, { shelf });
  });
  router.get(at(contract.drafts), async (_req, res) => {
    reply(res, contract.drafts, { drafts: await services().shelves.drafts() });
  });
  router.get(at(contract.payments), async (_req, res) => {
    const s = services();
    reply(res, contract.payments, {
      breaker: s.payments.state,
      since: s.payments.since,
      calls: { ...s.payments.counts },
      pendingOrders: await s.saga.pending(),
    });
  });
  return router;
}
