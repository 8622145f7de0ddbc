/**
 * Commerce over GraphQL against a real cloud and the real payment simulator over HTTP: catalog and
 * stock as REST reads them, placeOrder through the same checkout as POST /api/commerce/orders
 * (role, validation, idempotency, audit), the orderStatus subscription over a real graphql-ws
 * client pushed through an outage, and a 100-order list with a bounded number of store queries.
 */
import type { Order, Product, StockLevel } from "@bitvelocity/api";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type CommerceRig, json, type OrderDetail, startCommerceRig, waitFor } from "./test-support.js";

interface GqlError {
  message: string;
  extensions?: { code?: string; problems?: { path: string }[]; orderId?: string };
}
interface GqlReply<T> {
  data?: T | null;
  errors?: GqlError[];
}
interface StatusChange {
  orderId: string;
  status: string;
  version: number;
}

let rig: CommerceRig;

async function gql<T = Record<string, unknown>>(
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GqlReply<T>> {
  const res = await fetch(`${rig.t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as GqlReply<T>;
}

async function storeCalls(): Promise<number> {
  const text = await (await fetch(`${rig.t.url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^bv_cloud_graphql_store_calls_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

async function faults(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${rig.simPort}/faults`, { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

const PLACE = `mutation($input: PlaceOrderInput!, $key: String) {
  placeOrder(input: $input, idempotencyKey: $key) { id siteId status placedBy totalMinor lines { sku quantity } timeline { type step status } }
}`;
type Placed = { placeOrder: Order & { timeline: { type: string; step: string; status: string }[] } };
const FILTERS = (quantity: number, siteId = "site-1") => ({ siteId, lines: [{ sku: "CONS-FILTER", quantity }] });

beforeAll(async () => {
  rig = await startCommerceRig({}, { breaker_half_open_ms: 200, payments_timeout_ms: 500, payments_attempts: 1 });
  await rig.setStock("CONS-FILTER", 5000);
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

describe("commerce over GraphQL", () => {
  it("reads the catalog and stock as REST does", async () => {
    const reply = await gql<{ products: Product[]; stock: StockLevel[]; all: StockLevel[] }>(
      rig.victor,
      `{ products { sku name kind deviceType priceMinor currency taxRateBp active available updatedAt }
         stock(sku: "CONS-FILTER", location: "warehouse-1") { sku location onHand reserved available }
         all: stock { sku location onHand } }`,
    );
    expect(reply.errors).toBeUndefined();
    const rest = await json<{ products: Product[] }>(await rig.t.api("/api/commerce/products", rig.victor));
    const kinds = (p: Product) => ({ ...p, kind: p.kind === "shelf-item" ? "shelf_item" : p.kind });
    expect(reply.data?.products).toEqual(rest.products.map(kinds));
    expect(reply.data?.products.length).toBeGreaterThan(0);
    expect(reply.data?.stock).toEqual([{ sku: "CONS-FILTER", location: "warehouse-1", onHand: 5000, reserved: 0, available: 5000 }]);
    const restStock = await json<{ stock: StockLevel[] }>(await rig.t.api("/api/commerce/stock", rig.victor));
    expect(reply.data?.all).toHaveLength(restStock.stock.length);
  });

  it("places a confirmed order through the same checkout as REST, audited, with its timeline", async () => {
    const reply = await gql<Placed>(rig.alice, PLACE, { input: FILTERS(2), key: "gql-confirmed" });
    expect(reply.errors).toBeUndefined();
    const order = reply.data!.placeOrder;
    expect(order).toMatchObject({ siteId: "site-1", status: "confirmed", placedBy: "alice", lines: [{ sku: "CONS-FILTER", quantity: 2 }] });
    expect(order.timeline.map((e) => e.type)).toEqual([
      "OrderPlaced",
      "StockReserved",
      "PaymentAuthorized",
      "StockCommitted",
      "PaymentCaptured",
      "OrderConfirmed",
    ]);
    const rest = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${order.id}`, rig.victor));
    expect(rest.order.totalMinor).toBe(order.totalMinor);
    expect(rig.sim.entries().filter((e) => e.orderId === order.id && e.kind === "capture")).toHaveLength(1);
    const { entries } = await json<{ entries: { action: string; actor: string; target: string; detail: Record<string, unknown> }[] }>(
      await rig.t.api("/api/audit?limit=50", rig.admin),
    );
    expect(entries.find((e) => e.action === "order.place" && e.target === order.id)).toMatchObject({
      actor: "alice",
      detail: { siteId: "site-1", status: "confirmed", api: "graphql" },
    });

    const one = await gql<{ order: { id: string; timeline: { step: string }[] } | null; none: unknown }>(
      rig.victor,
      `query($id: ID!) { order(id: $id) { id timeline { step } } none: order(id: "ord_nope") { id } }`,
      { id: order.id },
    );
    expect(one.data?.order?.timeline.map((e) => e.step)).toEqual(["place", "reserve", "authorize", "commit-stock", "capture", "confirm"]);
    expect(one.data?.none).toBeNull();
  });

  it("answers the same order for the same idempotency key (across GraphQL and REST) and refuses the key with another input", async () => {
    const input = FILTERS(3);
    const [a, b] = await Promise.all([
      gql<Placed>(rig.alice, PLACE, { input, key: "gql-retry" }),
      gql<Placed>(rig.alice, PLACE, { input, key: "gql-retry" }),
    ]);
    const c = await gql<Placed>(rig.alice, PLACE, { input, key: "gql-retry" });
    const ids = [a, b, c].map((r) => r.data?.placeOrder.id);
    expect(ids[0]).toMatch(/^ord_/);
    expect(new Set(ids).size).toBe(1);
    // The shared entry point: REST with the same user, key and body answers that order too.
    const rest = await rig.order(rig.alice, input, "gql-retry");
    expect(rest.status).toBe(201);
    expect((await json<{ order: Order }>(rest)).order.id).toBe(ids[0]);
    expect(rig.sim.entries().filter((e) => e.orderId === ids[0] && e.kind === "authorize")).toHaveLength(1);

    const reused = await gql<Placed>(rig.alice, PLACE, { input: FILTERS(4), key: "gql-retry" });
    expect(reused.data ?? null).toBeNull();
    expect(reused.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(reused.errors?.[0]?.message).toMatch(/different order request/);
  });

  it("refuses a viewer (audited) and bad input with clear codes, no stack traces, and records no order", async () => {
    const count = async () =>
      (await json<{ orders: Order[] }>(await rig.t.api("/api/commerce/orders?limit=1000", rig.victor))).orders.length;
    const before = await count();
    const viewer = await gql<Placed>(rig.victor, PLACE, { input: FILTERS(1) });
    expect(viewer.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(viewer.errors?.[0]?.message).toMatch(/operator role/);
    const { entries } = await json<{ entries: { action: string; actor: string; detail: Record<string, unknown> }[] }>(
      await rig.t.api("/api/audit?limit=50", rig.admin),
    );
    expect(entries.find((e) => e.action === "commerce.refused" && e.actor === "victor")?.detail).toMatchObject({ api: "graphql" });

    const cases: [Record<string, unknown>, string][] = [
      [{ siteId: "site-1", lines: [{ sku: "NO-SUCH", quantity: 1 }] }, "lines.0.sku"],
      [{ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 0 }] }, "lines.0.quantity"],
      [{ siteId: "nowhere", lines: [{ sku: "CONS-FILTER", quantity: 1 }] }, "siteId"],
      [{ siteId: "site-1", lines: [] }, "lines"],
    ];
    for (const [input, path] of cases) {
      const r = await gql<Placed>(rig.alice, PLACE, { input });
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe("VALIDATION_FAILED");
      expect(r.errors?.[0]?.extensions?.problems?.map((p) => p.path)).toContain(path);
      expect(JSON.stringify(r)).not.toMatch(/stack|\.ts:|\.js:/);
    }
    const badKey = await gql<Placed>(rig.alice, PLACE, { input: FILTERS(1), key: "has spaces" });
    expect(badKey.errors?.[0]?.extensions?.problems?.map((p) => p.path)).toEqual(["idempotencyKey"]);
    const short = await gql<Placed>(rig.alice, PLACE, { input: { siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 2000 }] } });
    expect(short.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
    const stockOut = await gql<Placed>(rig.alice, PLACE, {
      input: { siteId: "site-1", lines: [{ sku: "CONS-BATT-AA4", quantity: 1000 }] },
    });
    expect(stockOut.errors?.[0]?.extensions?.code).toBe("OUT_OF_STOCK");
    expect(stockOut.errors?.[0]?.extensions?.orderId).toMatch(/^ord_/);
    // Only the out-of-stock order was recorded (cancelled); every refusal before it recorded nothing.
    expect(await count()).toBe(before + 1);
  });

  it("caps the orders page size; a full page with lines and timelines stays within the cost limit", async () => {
    const big = await gql(rig.victor, `{ orders(first: 501) { id } }`);
    expect(big.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const full = await gql(
      rig.victor,
      `{ orders(first: 500) { id status lines { sku quantity lineTotalMinor } timeline { step status at } } }`,
    );
    expect(full.errors).toBeUndefined();
  });

  it("pushes an order's statuses over graphql-ws, placed → … → confirmed, through a payments outage", async () => {
    await faults({ outage: true });
    const waiting = await gql<Placed>(rig.alice, PLACE, { input: FILTERS(1), key: "gql-outage" });
    expect(waiting.errors?.[0]?.extensions?.code).toBe("PAYMENTS_UNAVAILABLE");
    const orderId = waiting.errors?.[0]?.extensions?.orderId as string;
    expect(orderId).toMatch(/^ord_/);

    const client = createClient({
      url: `${rig.t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${rig.victor}` },
      retryAttempts: 0,
    });
    const received: StatusChange[] = [];
    let failure: unknown;
    let completed = false;
    const dispose = client.subscribe<{ orderStatus: StatusChange }>(
      { query: `subscription($id: ID!) { orderStatus(id: $id) { orderId status version } }`, variables: { id: orderId } },
      {
        next: (msg) => {
          if (msg.data) received.push(msg.data.orderStatus);
          if (msg.errors) failure = msg.errors;
        },
        error: (err) => {
          failure = err;
        },
        complete: () => {
          completed = true;
        },
      },
    );
    try {
      // What happened before the subscription: its history, up to the wait for the provider.
      await waitFor(() => (failure ? Promise.reject(failure) : received.length >= 3 || undefined), 10_000, "the history so far");
      expect(received.map((r) => r.status)).toEqual(["placed", "reserved", "payment_pending"]);
      expect(completed).toBe(false);

      // The provider comes back: the saga completes the order and the bus pushes each new status.
      await faults({ outage: false });
      await waitFor(() => (failure ? Promise.reject(failure) : completed || undefined), 20_000, "the subscription to complete");
      expect(received.map((r) => r.status)).toEqual(["placed", "reserved", "payment_pending", "authorized", "captured", "confirmed"]);
      expect(received.every((r) => r.orderId === orderId)).toBe(true);
      const versions = received.map((r) => r.version);
      expect([...versions].sort((x, y) => x - y)).toEqual(versions);
      const rest = await json<OrderDetail>(await rig.t.api(`/api/commerce/orders/${orderId}`, rig.victor));
      expect(rest.order.status).toBe("confirmed");
    } finally {
      dispose();
      await client.dispose();
      await faults({ outage: false });
    }
  });

  it("sends a finished order's statuses and completes", async () => {
    const placed = await gql<Placed>(rig.alice, PLACE, { input: FILTERS(1), key: "gql-finished" });
    const client = createClient({
      url: `${rig.t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${rig.victor}` },
      retryAttempts: 0,
    });
    const statuses: string[] = [];
    const end = await new Promise<unknown>((resolve) => {
      client.subscribe<{ orderStatus: StatusChange }>(
        { query: `subscription($id: ID!) { orderStatus(id: $id) { status } }`, variables: { id: placed.data?.placeOrder.id } },
        { next: (m) => m.data && statuses.push(m.data.orderStatus.status), error: resolve, complete: () => resolve("complete") },
      );
    });
    expect(end).toBe("complete");
    expect(statuses).toEqual(["placed", "reserved", "authorized", "captured", "confirmed"]);
    await client.dispose();
  });

  it("refuses a subscription to an unknown order", async () => {
    const client = createClient({
      url: `${rig.t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${rig.victor}` },
      retryAttempts: 0,
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription { orderStatus(id: "ord_nope") { status } }` },
        { next: (m) => resolve(m), error: resolve, complete: () => resolve("complete") },
      );
    });
    expect(JSON.stringify(outcome)).toContain("unknown order");
    await client.dispose();
  });

  it("lists 100 orders with their lines and timelines in a bounded number of store queries", async () => {
    for (let batch = 0; batch < 10; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) => gql<Placed>(rig.alice, PLACE, { input: FILTERS(1 + i, "site-2"), key: `bulk-${batch}-${i}` })),
      );
      for (const r of replies) expect(r.errors).toBeUndefined();
    }
    const query = `query($first: Int) { orders(siteId: "site-2", first: $first) { id siteId status lines { sku quantity } timeline { step status } } }`;
    const before = await storeCalls();
    const reply = await gql<{ orders: { siteId: string; status: string; lines: unknown[]; timeline: { step: string }[] }[] }>(
      rig.victor,
      query,
      { first: 100 },
    );
    const calls = (await storeCalls()) - before;
    expect(reply.errors).toBeUndefined();
    const orders = reply.data?.orders ?? [];
    expect(orders).toHaveLength(100);
    expect(orders.every((o) => o.siteId === "site-2" && o.status === "confirmed" && o.lines.length === 1)).toBe(true);
    expect(orders.every((o) => o.timeline.map((e) => e.step).join() === "place,reserve,authorize,commit-stock,capture,confirm")).toBe(true);
    // One query for the orders (their lines are in the row), one for all 100 timelines.
    expect(calls).toBe(2);
    const few = await storeCalls();
    await gql(rig.victor, query, { first: 5 });
    expect((await storeCalls()) - few).toBe(calls);
  });
});
