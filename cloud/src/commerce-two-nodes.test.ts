/**
 * Two cloud nodes on one database: node A runs a checkout whose payment provider answers slower
 * than the stock reservation lives; node B's poller sees the reservation expire meanwhile. B must
 * leave the order to the saga that holds it (its lease is live): failing it there would lose the
 * authorization A is waiting for, and no compensation would void it. Every order must end with the
 * provider's ledger balanced: an authorization is captured, voided, or captured and refunded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Order } from "@bitvelocity/api";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import { afterAll, describe, expect, it } from "vitest";
import { type CloudHandle, startCloud } from "./main.js";
import { loadCloudConfig } from "./platform/config.js";
import { waitFor } from "./test-support.js";

describe("checkout on two nodes sharing a database", () => {
  const dir = mkdtempSync(join(tmpdir(), "bv-commerce-two-nodes-"));
  const sim = new PaymentsSimulator({ latencyMs: 1800 });
  const nodes: CloudHandle[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boot(simPort: number): Promise<(path: string, init?: RequestInit) => Promise<Response>> {
    const config = loadCloudConfig(
      undefined,
      {},
      {
        data_dir: dir,
        "http.host": "127.0.0.1",
        "http.port": 0,
        "http.insecure": true,
        "grpc.host": "127.0.0.1",
        "grpc.port": 0,
        sites: [{ id: "site-1", name: "Plant 1" }],
        users: [{ username: "olga", role: "operator", password_hash: hashSecret("operator-pass-1", "scrypt") }],
        "admin.password": "admin-password-1",
        commerce: {
          payments_url: `http://127.0.0.1:${simPort}`,
          payments_timeout_ms: 5000,
          reservation_ttl_ms: 1000,
          saga_poll_ms: 100,
          saga_retry_max_ms: 200,
        },
      },
    );
    const cloud = await startCloud(config, { logger: silentLogger(), processMetrics: false });
    nodes.push(cloud);
    const base = `http://127.0.0.1:${cloud.ports.http}`;
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "olga", password: "operator-pass-1" }),
    });
    const token = decodeURIComponent(/bv_session=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1] ?? "");
    return (path, init = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
      });
  }

  it("a reservation that expires while node A waits for the provider is not failed by node B", async () => {
    const simPort = await sim.start(0);
    const a = await boot(simPort);
    await boot(simPort); // node B: its saga poller sweeps expired reservations
    const res = await a("/api/commerce/orders", {
      method: "POST",
      headers: { "idempotency-key": "two-nodes-1" },
      body: JSON.stringify({ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 1 }] }),
    });
    const body = (await res.json()) as { order?: Order; error?: { message: string } };
    const id = body.order?.id ?? /order (ord_[0-9a-f-]+)/.exec(body.error?.message ?? "")?.[1] ?? "";
    expect(id).not.toBe("");
    const order = await waitFor(
      async () => {
        const o = ((await (await a(`/api/commerce/orders/${id}`)).json()) as { order: Order }).order;
        return o.status === "confirmed" || o.status === "cancelled" ? o : undefined;
      },
      20_000,
      "the order settled",
    );
    const entries = sim.entries().filter((e) => e.orderId === id);
    const kinds = entries.map((e) => e.kind);
    expect(kinds.filter((k) => k === "authorize")).toHaveLength(1);
    // Balanced: captured (confirmed), voided, or captured then refunded (cancelled).
    if (order.status === "confirmed") expect(kinds).toEqual(["authorize", "capture"]);
    else
      expect([
        ["authorize", "void"],
        ["authorize", "capture", "refund"],
      ]).toContainEqual(kinds);
  }, 40_000);
});
