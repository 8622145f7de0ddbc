/**
 * The checkout saga's state is the order's event stream: a cloud stopped while orders wait for
 * the payment provider finishes them after a restart on the same database, with one charge each.
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

describe("checkout saga after a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "bv-commerce-resume-"));
  const sim = new PaymentsSimulator({ outage: true });
  let cloud: CloudHandle | undefined;
  afterAll(async () => {
    await cloud?.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boot(simPort: number): Promise<{ api: (path: string, init?: RequestInit) => Promise<Response> }> {
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
        commerce: { payments_url: `http://127.0.0.1:${simPort}`, saga_poll_ms: 100, saga_retry_max_ms: 200, breaker_half_open_ms: 200 },
      },
    );
    cloud = await startCloud(config, { logger: silentLogger(), processMetrics: false });
    const base = `http://127.0.0.1:${cloud.ports.http}`;
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "olga", password: "operator-pass-1" }),
    });
    const token = decodeURIComponent(/bv_session=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1] ?? "");
    return {
      api: (path, init = {}) =>
        fetch(`${base}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
        }),
    };
  }

  it("finishes the orders that were waiting for payments when the cloud stopped", async () => {
    const simPort = await sim.start(0);
    let c = await boot(simPort);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await c.api("/api/commerce/orders", {
        method: "POST",
        headers: { "idempotency-key": `resume-${i}` },
        body: JSON.stringify({ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 2 }] }),
      });
      expect(res.status).toBe(503);
      ids.push(/order (ord_[0-9a-f-]+)/.exec(((await res.json()) as { error: { message: string } }).error.message)?.[1] ?? "");
    }
    await cloud!.stop();
    cloud = undefined;

    sim.faults.outage = false;
    c = await boot(simPort);
    const orders = await waitFor(
      async () => {
        const list = ((await (await c.api("/api/commerce/orders")).json()) as { orders: Order[] }).orders;
        return list.length === 3 && list.every((o) => o.status === "confirmed") ? list : undefined;
      },
      10_000,
      "orders confirmed after the restart",
    );
    expect(orders.map((o) => o.id).sort()).toEqual([...ids].sort());
    const captures = sim.entries().filter((e) => e.kind === "capture");
    expect(captures.map((e) => e.orderId).sort()).toEqual([...ids].sort());
    // Retried after the restart with the same key: the same order, no second charge.
    const again = await c.api("/api/commerce/orders", {
      method: "POST",
      headers: { "idempotency-key": "resume-0" },
      body: JSON.stringify({ siteId: "site-1", lines: [{ sku: "CONS-FILTER", quantity: 2 }] }),
    });
    expect(again.status).toBe(201);
    expect(((await again.json()) as { order: Order }).order.id).toBe(ids[0]);
    expect(sim.entries().filter((e) => e.kind === "authorize")).toHaveLength(3);
  });
});
