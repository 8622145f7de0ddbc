/**
 * The checkout entry point every protocol uses (REST `POST /api/commerce/orders`, GraphQL
 * `placeOrder`): the operator role check (a refusal is audited), the wire contract's zod schema
 * (PlaceOrderBody), the Idempotency-Key's shape, placing the order (OrderService: the same key
 * answers the first order; the same key with another body is refused), running the checkout
 * saga, the checkout metrics and the audit entry. Adapters only translate its answer and its
 * error codes into their protocol (HTTP statuses, GraphQL extensions.code).
 */
import { type Order, PlaceOrderBody } from "@bitvelocity/api";
import { BvError } from "@bitvelocity/common";
import type { AuditLog } from "../identity/audit-log.js";
import { hasRole, type Principal } from "../identity/index.js";
import { ValidationError } from "../platform/errors.js";
import { problemsOf } from "../platform/validate.js";
import { IdempotencyConflict } from "./order-service.js";
import type { CommerceServices } from "./services.js";

/** Which protocol asked (recorded in the audit detail; names the key in a validation problem). */
export type CheckoutApi = "rest" | "graphql";

/** Why a checkout did not end with a confirmed order; `orderId` is set when an order exists. */
export type CheckoutRefusal = "FORBIDDEN" | "IDEMPOTENCY_KEY_REUSED" | "OUT_OF_STOCK" | "ORDER_CANCELLED" | "PAYMENTS_UNAVAILABLE";

export class CheckoutRefused extends BvError {
  constructor(
    override readonly code: CheckoutRefusal,
    message: string,
    readonly orderId?: string,
  ) {
    super(code, code === "PAYMENTS_UNAVAILABLE" ? "transient" : "protocol", message);
  }
}

export interface PlacedOrder {
  readonly order: Order;
  /** True when the Idempotency-Key was seen before: this is the first request's order. */
  readonly replay: boolean;
}

export interface Checkout {
  /**
   * Places an order for `user` and runs the checkout saga. Resolves with the confirmed order;
   * throws ValidationError (VALIDATION_FAILED, every problem) or CheckoutRefused.
   */
  place(user: Principal, body: unknown, idempotencyKey: string | undefined, api: CheckoutApi): Promise<PlacedOrder>;
}

const KEY = /^[\x21-\x7e]{1,200}$/;
const KEY_NAME: Record<CheckoutApi, string> = { rest: "Idempotency-Key", graphql: "idempotencyKey" };

export function checkout(services: () => CommerceServices, audit: () => AuditLog): Checkout {
  return {
    async place(user, input, idempotencyKey, api) {
      if (!hasRole(user.role, "operator")) {
        await audit().record({
          actor: user.username,
          via: user.via,
          action: "commerce.refused",
          target: "orders",
          detail: { action: "order.place", role: user.role, needs: "operator", api },
        });
        throw new CheckoutRefused("FORBIDDEN", `this needs the operator role; you are ${user.role}`);
      }
      if (idempotencyKey !== undefined && !KEY.test(idempotencyKey)) {
        throw new ValidationError("invalid idempotency key", [{ path: KEY_NAME[api], message: "expected 1-200 visible ASCII characters" }]);
      }
      const parsed = PlaceOrderBody.safeParse(input);
      if (!parsed.success) throw new ValidationError("invalid order", problemsOf(parsed.error));
      const body = parsed.data;
      const s = services();
      const started = performance.now();
      const placed = await s.orders.place(user.username, idempotencyKey, body).catch((err: unknown) => {
        if (err instanceof IdempotencyConflict) throw new CheckoutRefused(err.code as CheckoutRefusal, err.message);
        throw err;
      });
      const state = await s.saga.run(placed.orderId);
      s.observe(state.status, (performance.now() - started) / 1000);
      if (!placed.replay) {
        await audit().record({
          actor: user.username,
          via: user.via,
          action: "order.place",
          target: placed.orderId,
          detail: { siteId: body.siteId, status: state.status, api },
        });
      }
      const order = await s.projections.order(placed.orderId);
      if (state.status === "confirmed") return { order, replay: placed.replay };
      if (state.status === "cancelled") {
        const reason = state.reason ?? "checkout failed";
        const code = reason.startsWith("out of stock") ? "OUT_OF_STOCK" : "ORDER_CANCELLED";
        throw new CheckoutRefused(code, `order ${order.id} cancelled: ${reason}`, order.id);
      }
      // Waiting for the payment provider: the order exists and the saga completes it when the provider is back.
      throw new CheckoutRefused(
        "PAYMENTS_UNAVAILABLE",
        `payments unavailable: order ${order.id} is ${order.status} and will complete when the payment provider is back (${state.reason ?? ""})`,
        order.id,
      );
    },
  };
}
