/**
 * Commerce resolvers: reads from commerce's read services (catalog, stock, order read models, as
 * REST reads them: every logged-in user sees the shop and its orders), placeOrder through
 * commerce's checkout entry point (the one POST /api/commerce/orders uses), and the orderStatus
 * subscription fed by the bus.
 */
import type { Order, OrderStatus } from "@bitvelocity/api";
import { isBvError } from "@bitvelocity/common";
import { CheckoutRefused } from "../../commerce/index.js";
import type { GraphqlContext, GraphqlDeps } from "./deps.js";
import { pageSize, refuse, service } from "./errors.js";
import { CONFIRMED_FINAL, FULFILLED_FINAL, orderStatusChanges } from "./order-status.js";

/** The most orders one `orders` field answers (REST's limit goes to 1,000; a GraphQL page also loads timelines). */
export const ORDERS_CAP = 500;

type Args = Record<string, unknown>;

interface PlaceOrderArgs {
  input: { siteId: string; lines: { sku: string; quantity: number }[] };
  idempotencyKey?: string | null;
}

const optionalString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function commerceResolvers(deps: GraphqlDeps) {
  return {
    // The wire value "shelf-item" is not a valid GraphQL enum name.
    ProductKind: { device: "device", consumable: "consumable", shelf_item: "shelf-item" },
    Query: {
      products: (_: unknown, args: Args, ctx: GraphqlContext) => {
        ctx.loaders.storeCall("products");
        return service(() => deps.commerce.products(args.all === true));
      },
      stock: async (_: unknown, args: Args, ctx: GraphqlContext) => {
        ctx.loaders.storeCall("stock");
        const sku = optionalString(args.sku);
        const location = optionalString(args.location);
        const levels = await service(() => deps.commerce.inventory.levels());
        return levels.filter((l) => (sku === undefined || l.sku === sku) && (location === undefined || l.location === location));
      },
      orders: (_: unknown, args: Args, ctx: GraphqlContext) => {
        const limit = pageSize(args.first ?? 100, ORDERS_CAP);
        ctx.loaders.storeCall("orders");
        return service(() =>
          deps.commerce.projections.orders({
            siteId: optionalString(args.siteId),
            status: optionalString(args.status) as OrderStatus | undefined,
            limit,
          }),
        );
      },
      order: async (_: unknown, args: Args, ctx: GraphqlContext) => {
        ctx.loaders.storeCall("orders");
        try {
          return await deps.commerce.projections.order(String(args.id));
        } catch (err) {
          if (isBvError(err, "NOT_FOUND")) return null;
          throw err;
        }
      },
    },
    Order: {
      // Lines are part of the order's read-model row: no query of their own.
      lines: (o: Order) => o.lines,
      timeline: (o: Order, _: Args, ctx: GraphqlContext) => ctx.loaders.timelines.load(o.id),
    },
    Mutation: {
      placeOrder: async (_: unknown, args: PlaceOrderArgs, ctx: GraphqlContext) => {
        try {
          const placed = await deps.checkout.place(ctx.user, args.input, args.idempotencyKey ?? undefined, "graphql");
          return placed.order;
        } catch (err) {
          if (err instanceof CheckoutRefused) {
            refuse(err.code, err.message, undefined, err.orderId === undefined ? {} : { orderId: err.orderId });
          }
          return service(() => Promise.reject(err));
        }
      },
    },
    Subscription: {
      orderStatus: {
        subscribe: async (_: unknown, args: Args) => {
          const id = String(args.id);
          const history = (orderId: string) => deps.commerce.projections.statusHistory(orderId);
          // An unknown order is refused up front rather than as an empty stream.
          await service(() => history(id));
          return orderStatusChanges(deps.bus, history, id, deps.fulfilment ? FULFILLED_FINAL : CONFIRMED_FINAL);
        },
      },
    },
  };
}
