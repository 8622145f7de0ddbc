/** The payment simulator over real HTTP: idempotent money calls, state rules, the ledger, fault injection. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentsSimulator } from "./payments-server.js";

describe("bv-sim payments", () => {
  const sim = new PaymentsSimulator({}, () => 0.5);
  let base = "";
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
  };
  beforeAll(async () => {
    base = `http://127.0.0.1:${await sim.start(0)}`;
  });
  afterAll(() => sim.stop());

  it("authorizes, captures and refunds once per key; the ledger records each once", async () => {
    const a1 = await post("/authorize", { key: "k1", orderId: "o1", amountMinor: 1234, currency: "EUR" });
    const a2 = await post("/authorize", { key: "k1", orderId: "o1", amountMinor: 1234, currency: "EUR" });
    expect(a1.status).toBe(200);
    expect(a2.body).toEqual(a1.body);
    const auth = a1.body.authorizationId as string;
    expect((await post("/capture", { key: "c1", authorizationId: auth })).body.status).toBe("captured");
    expect((await post("/capture", { key: "c1", authorizationId: auth })).status).toBe(200);
    expect((await post("/capture", { key: "c2", authorizationId: auth })).body.error?.code).toBe("INVALID_STATE");
    expect((await post("/void", { key: "v1", authorizationId: auth })).status).toBe(409);
    expect((await post("/refund", { key: "r1", authorizationId: auth })).body.status).toBe("refunded");
    const ledger = (await (await fetch(`${base}/ledger`)).json()) as { entries: { kind: string; orderId: string }[] };
    expect(ledger.entries.map((e) => e.kind)).toEqual(["authorize", "capture", "refund"]);
  });

  it("refuses a reused key with another body, bad amounts and unknown authorizations", async () => {
    expect((await post("/authorize", { key: "k1", orderId: "o1", amountMinor: 9999, currency: "EUR" })).body.error?.code).toBe(
      "KEY_REUSED",
    );
    expect((await post("/authorize", { key: "k9", orderId: "o9", amountMinor: 0, currency: "EUR" })).status).toBe(400);
    expect((await post("/authorize", { key: "k9", orderId: "o9", amountMinor: 1.5, currency: "EUR" })).status).toBe(400);
    expect((await post("/capture", { key: "c9", authorizationId: "auth_nope" })).status).toBe(404);
  });

  it("injects outages and errors without recording anything, and latency", async () => {
    expect((await post("/faults", { outage: true })).status).toBe(200);
    expect((await post("/authorize", { key: "k3", orderId: "o3", amountMinor: 1, currency: "EUR" })).status).toBe(503);
    await post("/faults", { outage: false, errorRate: 1 });
    expect((await post("/authorize", { key: "k3", orderId: "o3", amountMinor: 1, currency: "EUR" })).status).toBe(503);
    await post("/faults", { errorRate: 0, latencyMs: 120 });
    const t0 = performance.now();
    expect((await post("/authorize", { key: "k3", orderId: "o3", amountMinor: 1, currency: "EUR" })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    expect(sim.entries().filter((e) => e.orderId === "o3")).toHaveLength(1);
    expect((await post("/faults", { errorRate: 2 })).status).toBe(400);
  });
});
