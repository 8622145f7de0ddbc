/**
 * Test helpers for commerce: a real cloud (SQLite or a scratch PostgreSQL schema) wired to a
 * real payment provider simulator over HTTP. No vitest import here.
 */
import { randomBytes } from "node:crypto";
import type { Order } from "@bitvelocity/api";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import pg from "pg";
import { startTestCloud, type TestCloud } from "../test-support.js";

export interface CommerceRig {
  readonly t: TestCloud;
  readonly sim: PaymentsSimulator;
  readonly simPort: number;
  readonly admin: string;
  readonly alice: string;
  readonly victor: string;
  order(token: string, body: unknown, key?: string): Promise<Response>;
  setStock(sku: string, onHand: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCommerceRig(engine: { pgUrl?: string } = {}, commerce: Record<string, unknown> = {}): Promise<CommerceRig> {
  const sim = new PaymentsSimulator();
  const simPort = await sim.start(0);
  const schema = `bv_commerce_${randomBytes(5).toString("hex")}`;
  const db = engine.pgUrl ? { database: { engine: "postgres", url: engine.pgUrl, schema, pool_size: 10 } } : {};
  const t = await startTestCloud({
    ...db,
    commerce: { payments_url: `http://127.0.0.1:${simPort}`, saga_poll_ms: 100, saga_retry_max_ms: 300, ...commerce },
  });
  const [admin, alice, victor] = [await t.login("admin"), await t.login("alice"), await t.login("victor")];
  return {
    t,
    sim,
    simPort,
    admin,
    alice,
    victor,
    order(token, body, key) {
      return t.api("/api/commerce/orders", token, {
        method: "POST",
        body: JSON.stringify(body),
        headers: key ? { "idempotency-key": key } : {},
      });
    },
    async setStock(sku, onHand) {
      const res = await t.api(`/api/commerce/stock/${sku}/warehouse-1`, admin, { method: "PUT", body: JSON.stringify({ onHand }) });
      if (res.status !== 200) throw new Error(`set stock: ${res.status} ${await res.text()}`);
    },
    async close() {
      await t.close();
      await sim.stop();
      if (engine.pgUrl) {
        const client = new pg.Client({ connectionString: engine.pgUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      }
    },
  };
}

export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export type OrderDetail = { order: Order; timeline: { step: string; status: string; type: string }[] };
