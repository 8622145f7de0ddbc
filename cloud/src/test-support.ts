/**
 * Helpers for tests that talk to a real bv-cloud: a temp data dir and config, a started cloud
 * on port 0, an EdgeSync client link, and HTTP login. No vitest import here.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Order } from "@bitvelocity/api";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import { PaymentsSimulator } from "@bitvelocity/firmware-sim";
import { type CloudMessage, type EdgeMessage, EdgeSyncClient, type Hello, type Reading } from "@bitvelocity/proto";
import { type ChannelCredentials, type ClientDuplexStream, credentials, type ServiceError } from "@grpc/grpc-js";
import pg from "pg";
import { type CloudHandle, type CloudOptions, startCloud } from "./main.js";
import { type CloudConfig, loadCloudConfig } from "./platform/config.js";

export const EDGE_TOKEN = "edge-token-for-tests-0123456789";
export const PASSWORDS = { admin: "admin-password-1", alice: "alice-password-1", victor: "victor-password-1" } as const;

export interface TestCloud {
  readonly cloud: CloudHandle;
  readonly config: CloudConfig;
  readonly url: string;
  readonly grpcAddress: string;
  login(username: keyof typeof PASSWORDS): Promise<string>;
  api(path: string, token: string | undefined, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** `options`: e.g. the built dashboard's folder for browser tests (cloud/dist/dashboard). */
export async function startTestCloud(overrides: Record<string, unknown> = {}, options: CloudOptions = {}): Promise<TestCloud> {
  const dir = mkdtempSync(join(tmpdir(), "bv-cloud-"));
  const config = loadCloudConfig(
    undefined,
    {},
    {
      data_dir: dir,
      "http.host": "127.0.0.1",
      "http.port": 0,
      "grpc.host": "127.0.0.1",
      "grpc.port": 0,
      sites: [
        { id: "site-1", name: "Plant 1" },
        { id: "site-2", name: "Plant 2" },
      ],
      edges: [
        { id: "edge-1", site_id: "site-1", name: "Line edge", token_hash: hashSecret(EDGE_TOKEN) },
        { id: "edge-2", site_id: "site-2", token_hash: hashSecret(EDGE_TOKEN) },
      ],
      users: [
        { username: "alice", role: "operator", password_hash: hashSecret(PASSWORDS.alice, "scrypt") },
        { username: "victor", role: "viewer", password_hash: hashSecret(PASSWORDS.victor, "scrypt") },
      ],
      "admin.password": PASSWORDS.admin,
      "live.throttle_ms": 50,
      // Dev opt-outs: plain HTTP and EdgeSync (test/security runs TLS), and most tests send readings for devices no Hello declared (test/security checks the default, reject).
      "ingest.undeclared_devices": "auto-register",
      "http.insecure": true,
      "grpc.insecure": true,
      ...overrides,
    },
  );
  const cloud = await startCloud(config, { logger: silentLogger(), processMetrics: false, ...options });
  const url = `http://127.0.0.1:${cloud.ports.http}`;
  const api = (path: string, token: string | undefined, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
    return fetch(`${url}${path}`, { ...init, headers });
  };
  return {
    cloud,
    config,
    url,
    grpcAddress: `127.0.0.1:${cloud.ports.grpc}`,
    api,
    async login(username) {
      const res = await api("/api/auth/login", undefined, {
        method: "POST",
        body: JSON.stringify({ username, password: PASSWORDS[username] }),
      });
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
      const cookie = res.headers.get("set-cookie") ?? "";
      const match = /bv_session=([^;]+)/.exec(cookie);
      if (!match?.[1]) throw new Error("no session cookie");
      return decodeURIComponent(match[1]);
    },
    async close() {
      await cloud.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One EdgeSync stream with an inbox you can wait on. */
export class EdgeLink {
  readonly inbox: CloudMessage[] = [];
  readonly closed: Promise<ServiceError | null>;
  private readonly client: InstanceType<typeof EdgeSyncClient>;
  private readonly call: ClientDuplexStream<EdgeMessage, CloudMessage>;
  private waiters: (() => void)[] = [];

  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    this.client = new EdgeSyncClient(address, creds);
    this.call = this.client.sync();
    this.call.on("data", (msg: CloudMessage) => {
      this.inbox.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      this.call.on("error", (err: ServiceError) => resolve(err));
      this.call.on("end", () => setTimeout(() => resolve(null), 20));
    });
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(msg: EdgeMessage): void {
    this.call.write(msg);
  }

  hello(
    edgeId = "edge-1",
    token = EDGE_TOKEN,
    devices: { deviceId: string; deviceType: string; name?: string; online?: boolean }[] = [],
    patch: Partial<Hello> = {},
  ): void {
    this.send({
      kind: {
        $case: "hello",
        hello: {
          edgeId,
          token,
          siteId: "",
          bootId: "boot-1",
          agentVersion: "0.1.0-test",
          wallTimeMs: Date.now() - 1500,
          clockSync: 1,
          uptimeMs: 1000,
          devices: devices.map((d) => ({ name: d.deviceId, online: true, lastSeenMs: 0, ...d })),
          configVersion: 0,
          arch: "amd64",
          ...patch,
        },
      },
    });
  }

  batch(batchId: number, readings: Reading[], replay = false): void {
    this.send({ kind: { $case: "batch", batch: { batchId, lane: 3, readings, replay } } });
  }

  /** Waits for the first unconsumed message matching `pick`, removing it from the inbox. */
  async next<C extends NonNullable<CloudMessage["kind"]>["$case"]>(
    kind: C,
    timeoutMs = 5000,
  ): Promise<Extract<NonNullable<CloudMessage["kind"]>, { $case: C }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.kind?.$case === kind);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!.kind as Extract<NonNullable<CloudMessage["kind"]>, { $case: C }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} within ${timeoutMs} ms (inbox: ${this.inbox.map((m) => m.kind?.$case).join(",")})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  end(): void {
    this.call.end();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export function reading(
  seq: number,
  deviceId: string,
  values: Record<string, number | boolean | string>,
  patch: Partial<Reading> = {},
): Reading {
  const wire: Reading["values"] = {};
  for (const [k, v] of Object.entries(values)) {
    wire[k] = {
      kind:
        typeof v === "number"
          ? { $case: "number", number: v }
          : typeof v === "boolean"
            ? { $case: "flag", flag: v }
            : { $case: "text", text: v },
    };
  }
  return {
    seq,
    deviceId,
    deviceType: "env-sensor",
    values: wire,
    edgeTimeMs: 1_750_000_000_000 + seq * 1000,
    bootId: "boot-1",
    uptimeMs: seq * 1000,
    clockSynced: true,
    ...patch,
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Commerce: a real cloud (SQLite, or a scratch PostgreSQL schema) wired to a real payment simulator over HTTP. */
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

export async function startCommerceRig(
  engine: { pgUrl?: string } = {},
  commerce: Record<string, unknown> = {},
  cloud: Record<string, unknown> = {},
): Promise<CommerceRig> {
  const sim = new PaymentsSimulator();
  const simPort = await sim.start(0);
  const schema = `bv_commerce_${randomBytes(5).toString("hex")}`;
  const db = engine.pgUrl ? { database: { engine: "postgres", url: engine.pgUrl, schema, pool_size: 10 } } : {};
  const t = await startTestCloud({
    ...db,
    commerce: { payments_url: `http://127.0.0.1:${simPort}`, saga_poll_ms: 100, saga_retry_max_ms: 300, ...commerce },
    ...cloud,
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
