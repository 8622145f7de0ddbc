/** The GraphQL adapter against a real cloud: HTTP queries and mutations, limits, batching, graphql-ws subscriptions. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";
import { type GraphqlDeps, graphqlSchema } from "./web/graphql/index.js";

let t: TestCloud;
let operator: string;
let viewer: string;
let edge: EdgeLink;
const DEVICES = 1000;
// The CommonJS graphql the server (graphql-yoga) runs on; vitest would otherwise hand this file the ESM copy.
const { buildSchema, printSchema } = createRequire(import.meta.url)("graphql") as typeof import("graphql");

interface DeviceNode {
  id: string;
  type?: string;
  latest: { metric: string; value: unknown }[];
}
interface DevicePage {
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  nodes: DeviceNode[];
}
interface SiteNode {
  id: string;
  edges: { id: string; online: boolean; devices: DevicePage }[];
}
interface Point {
  ts: number;
  min: number;
  max: number;
  avg: number;
  count: number;
}
interface FleetData {
  viewer: { username: string; role: string };
  sites: SiteNode[];
  device: { raw: Point[]; minute: Point[]; readings: { seq: number }[]; site: { id: string } };
}

interface GqlReply {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function gql(
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: GqlReply }> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${t.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as GqlReply };
}

async function storeCalls(): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^bv_cloud_graphql_store_calls_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

beforeAll(async () => {
  t = await startTestCloud();
  operator = await t.login("alice");
  viewer = await t.login("victor");
  edge = new EdgeLink(t.grpcAddress);
  const devices = Array.from({ length: DEVICES }, (_, i) => ({ deviceId: `env-${String(i).padStart(4, "0")}`, deviceType: "env-sensor" }));
  edge.hello("edge-1", undefined, devices);
  await edge.next("welcome", 20_000);
  await waitFor(
    async () => ((await (await t.api("/api/devices", operator)).json()) as { devices: unknown[] }).devices.length === DEVICES || undefined,
    20_000,
    "1000 devices learned",
  );
}, 60_000);

afterAll(async () => {
  edge?.close();
  await t?.close();
});

describe("GraphQL over HTTP", () => {
  it("keeps the committed schema snapshot in step with the code", () => {
    const committed = readFileSync(fileURLToPath(new URL("../../docs/graphql/schema.graphql", import.meta.url)), "utf8");
    // Compared as printed schemas: the committed file may be formatted differently (biome formats it).
    expect(printSchema(graphqlSchema({} as GraphqlDeps))).toBe(printSchema(buildSchema(committed)));
  });

  it("refuses a request without a session or token", async () => {
    const { status, body } = await gql(undefined, "{ viewer { username } }");
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const forged = await gql("bvt_forged", "{ viewer { username } }");
    expect(forged.status).toBe(401);
  });

  it("refuses a mutation riding on the session cookie from another origin, as /api does", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: `bv_session=${encodeURIComponent(operator)}`, ...headers },
        body: JSON.stringify({ query: 'mutation { acknowledgeAlert(id: "no-such-alert") { id } }' }),
      });
    const foreign = await post({ origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("ORIGIN_REFUSED");
    // The cloud's own origin passes the guard (and then the mutation answers for the unknown alert).
    const own = await post({ origin: new URL(t.url).origin });
    expect(own.status).toBe(200);
    expect(((await own.json()) as GqlReply).errors?.[0]?.message).toBeDefined();
  });

  it("serves GraphiQL to a logged-in browser only", async () => {
    const anon = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } });
    expect(anon.status).toBe(401);
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html", cookie: `bv_session=${encodeURIComponent(viewer)}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("GraphiQL");
    // Not frameable, no MIME sniffing: the same headers as the dashboard (GraphiQL's page has no CSP: it loads its bundle from a CDN).
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("answers sites → edges → devices with latest values, and history by resolution", async () => {
    edge.batch(1, [reading(1, "env-0001", { temperature: 20.5 }), reading(2, "env-0001", { temperature: 21.5 })]);
    await edge.next("ack", 10_000);
    await waitFor(
      async () => {
        const { body } = await gql(viewer, `{ device(id: "env-0001") { latest { metric value } } }`);
        const latest = (body.data?.device as { latest: { metric: string; value: number }[] } | null)?.latest ?? [];
        return latest.some((l) => l.metric === "temperature" && l.value === 21.5) || undefined;
      },
      10_000,
      "latest value",
    );

    const { status, body } = await gql(
      viewer,
      `{ viewer { username role }
         sites { id name edges { id online devices(first: 2) { totalCount nodes { id type latest { metric value ts } } } } }
         device(id: "env-0001") {
           raw: history(metric: "temperature", resolution: RAW) { ts avg count }
           minute: history(metric: "temperature", resolution: ONE_MINUTE) { ts min max avg count }
           readings { seq values }
           site { id } edge { id }
         } }`,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const data = body.data as unknown as FleetData;
    expect(data.viewer).toEqual({ username: "victor", role: "viewer" });
    const site1 = data.sites.find((s) => s.id === "site-1") as SiteNode;
    expect(site1.edges[0]).toMatchObject({ id: "edge-1", online: true });
    expect(site1.edges[0].devices.totalCount).toBe(DEVICES);
    expect(site1.edges[0].devices.nodes.map((d: { id: string }) => d.id)).toEqual(["env-0000", "env-0001"]);
    expect(site1.edges[0].devices.nodes[1].latest).toEqual([expect.objectContaining({ metric: "temperature", value: 21.5 })]);
    expect(data.device.raw.map((p: { avg: number }) => p.avg)).toEqual([20.5, 21.5]);
    expect(data.device.minute).toHaveLength(1);
    expect(data.device.minute[0]).toMatchObject({ min: 20.5, max: 21.5, count: 2 });
    expect(data.device.readings.map((r: { seq: number }) => r.seq)).toEqual([1, 2]);
    expect(data.device.site.id).toBe("site-1");
  });

  it("pages a 1,000-device fleet with a bounded number of store queries", async () => {
    const before = await storeCalls();
    let after: string | null = null;
    const seen: string[] = [];
    for (let pageNo = 0; pageNo < 10; pageNo++) {
      const { body } = await gql(
        viewer,
        `query($after: ID) { sites { edges { id devices(first: 500, after: $after) { endCursor hasNextPage nodes { id online latest { metric value } activeAlerts { id state } } } } } }`,
        { after },
      );
      expect(body.errors).toBeUndefined();
      const sites = (body.data as unknown as { sites: SiteNode[] }).sites;
      const page = sites.flatMap((s) => s.edges).find((e) => e.id === "edge-1")?.devices as DevicePage;
      seen.push(...page.nodes.map((d: { id: string }) => d.id));
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toHaveLength(DEVICES);
    expect(new Set(seen).size).toBe(DEVICES);
    // Two pages of 500 devices with their alerts: one alert query per page (DataLoader), not one per device.
    expect((await storeCalls()) - before).toBeLessThanOrEqual(2);
  });

  it("caps page sizes and telemetry reads per operation", async () => {
    const big = await gql(viewer, `{ devices(first: 501) { totalCount } }`);
    expect(big.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const fanout = await gql(viewer, `{ devices(first: 200) { nodes { id history(metric: "temperature") { ts } } } }`);
    expect(fanout.body.errors?.[0]?.extensions?.code).toBe("LIMIT_EXCEEDED");
  });

  it("refuses an abusive query (depth, cost, aliases) before running it", async () => {
    const deep = await gql(viewer, `{ sites { edges { site { edges { site { edges { site { edges { site { id } } } } } } } } } }`);
    expect(deep.body.data ?? null).toBeNull();
    expect(deep.body.errors?.[0]?.message).toMatch(/depth/i);
    const costly = await gql(viewer, `{ devices(first: 500) { nodes { edge { devices(first: 500) { nodes { id name } } } } } }`);
    expect(costly.body.data ?? null).toBeNull();
    expect(costly.body.errors?.[0]?.message).toMatch(/cost/i);
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: viewer { username }`).join(" ");
    const wide = await gql(viewer, `{ ${aliases} }`);
    expect(wide.body.data ?? null).toBeNull();
    expect(wide.body.errors?.[0]?.message).toMatch(/alias/i);
  });

  it("refuses mutations to a viewer and runs them for an operator through the same validation and audit", async () => {
    const send = `mutation($d: ID!, $n: String!, $p: JSON, $ttl: Int) { sendCommand(deviceId: $d, name: $n, params: $p, ttlS: $ttl) { id deviceId name status requestedBy } }`;
    const refused = await gql(viewer, send, { d: "env-0001", n: "set_interval", p: { interval_s: 5 } });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const ack = await gql(viewer, `mutation { acknowledgeAlert(id: "nope") { id } }`);
    expect(ack.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const badTtl = await gql(operator, send, { d: "env-0001", n: "set_interval", p: { interval_s: 5 }, ttl: 0 });
    expect(badTtl.body.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
    const unknown = await gql(operator, send, { d: "nope", n: "set_interval" });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const missingAlert = await gql(operator, `mutation { acknowledgeAlert(id: "nope") { id } }`);
    expect(missingAlert.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    for (const r of [refused, badTtl, unknown]) expect(JSON.stringify(r.body)).not.toMatch(/stack|\.ts:|\.js:/);

    const ok = await gql(operator, send, { d: "env-0001", n: "set_interval", p: { interval_s: 5 } });
    expect(ok.body.errors).toBeUndefined();
    const created = (ok.body.data as { sendCommand: { id: string } }).sendCommand;
    expect(created).toMatchObject({ deviceId: "env-0001", name: "set_interval", status: "pending", requestedBy: "alice" });
    const rest = (await (await t.api(`/api/commands/${created.id}`, operator)).json()) as { command: { id: string } };
    expect(rest.command.id).toBe(created.id);
    const audit = new Database(join(t.config.data_dir, "cloud.db"), { readonly: true });
    try {
      const row = audit
        .prepare("select actor, via, action, target, detail_json from audit_log where action = 'command.send'")
        .get() as Record<string, string>;
      expect(row).toMatchObject({ actor: "alice", via: "session", action: "command.send", target: "env-0001" });
      expect(JSON.parse(row.detail_json ?? "{}")).toMatchObject({ commandId: created.id, api: "graphql" });
    } finally {
      audit.close();
    }
    const badParam = await gql(operator, send, { d: "env-0001", n: "set_interval", p: { interval_s: "soon" } });
    expect(badParam.body.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
  });

  it("shows a device's active alert and lets an operator acknowledge it (audited)", async () => {
    const admin = await t.login("admin");
    const rule = await t.api("/api/alert-rules", admin, {
      method: "POST",
      body: JSON.stringify({
        name: "Hot hall",
        kind: "metric_threshold",
        severity: "critical",
        params: { metric: "temperature", op: "above", threshold: 40 },
      }),
    });
    expect(rule.status).toBe(201);
    edge.batch(3, [reading(3, "env-0005", { temperature: 45 })]);
    await edge.next("ack", 10_000);
    const alert = await waitFor(
      async () => {
        const { body } = await gql(viewer, `{ device(id: "env-0005") { activeAlerts { id state ruleName subjectId } } }`);
        return (body.data?.device as { activeAlerts: { id: string; state: string }[] } | null)?.activeAlerts[0];
      },
      15_000,
      "an active alert on env-0005",
    );
    expect(alert).toMatchObject({ state: "open", ruleName: "Hot hall", subjectId: "env-0005" });
    const acked = await gql(operator, `mutation($id: ID!) { acknowledgeAlert(id: $id) { id state acknowledgedBy } }`, { id: alert.id });
    expect(acked.body.errors).toBeUndefined();
    expect(acked.body.data?.acknowledgeAlert).toEqual({ id: alert.id, state: "acknowledged", acknowledgedBy: "alice" });
    const listed = await gql(viewer, `{ alerts(state: acknowledged) { id } }`);
    const listedAlerts = (listed.body.data?.alerts ?? []) as { id: string }[];
    expect(listedAlerts.map((a) => a.id)).toContain(alert.id);
    const audit = new Database(join(t.config.data_dir, "cloud.db"), { readonly: true });
    try {
      const row = audit.prepare("select actor, target from audit_log where action = 'alert.acknowledge'").get();
      expect(row).toEqual({ actor: "alice", target: alert.id });
    } finally {
      audit.close();
    }
  });
});

describe("GraphQL subscriptions over graphql-ws", () => {
  it("refuses a connection without credentials", async () => {
    const client = createClient({ url: `${t.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    const closed = await new Promise<unknown>((resolve) => {
      client.on("closed", resolve);
      client.on("error", resolve);
    });
    expect(closed).toBeTruthy();
    await client.dispose();
  });

  it("delivers a device's live readings sent over a real EdgeSync link", async () => {
    const client = createClient({
      url: `${t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${viewer}` },
      retryAttempts: 0,
    });
    const received: { deviceId: string; seq: number; values: Record<string, unknown> }[] = [];
    let failure: unknown;
    const dispose = client.subscribe<{ deviceReadings: (typeof received)[number] }>(
      { query: `subscription { deviceReadings(deviceId: "env-0002") { deviceId edgeId seq ts values } }` },
      {
        next: (msg) => {
          if (msg.data) received.push(msg.data.deviceReadings);
          if (msg.errors) failure = msg.errors;
        },
        error: (err) => {
          failure = err;
        },
        complete: () => undefined,
      },
    );
    // The subscription is registered once the server acknowledged the connection; resend until a reading arrives.
    let seq = 100;
    await waitFor(
      async () => {
        if (failure) throw new Error(`subscription failed: ${JSON.stringify(failure)}`);
        if (received.length > 0) return true;
        seq += 2;
        edge.batch(seq, [reading(seq, "env-0003", { temperature: 1 }), reading(seq + 1, "env-0002", { temperature: 20 + (seq % 10) })]);
        await edge.next("ack", 10_000);
        return received.length > 0 || undefined;
      },
      20_000,
      "a live reading",
    );
    expect(received.every((r) => r.deviceId === "env-0002")).toBe(true);
    expect(received[0]?.values).toEqual({ temperature: expect.any(Number) });
    dispose();
    await client.dispose();
  });

  it("accepts the session cookie from the same origin only", async () => {
    const withHeaders = (headers: Record<string, string>) =>
      class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers });
        }
      };
    const host = new URL(t.url).host;
    const cookie = `bv_session=${encodeURIComponent(viewer)}`;
    const attempt = async (headers: Record<string, string>) => {
      const client = createClient({ url: `${t.url.replace("http", "ws")}/graphql`, webSocketImpl: withHeaders(headers), retryAttempts: 0 });
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: "query { viewer { username } }" },
          {
            next: (m) => resolve(m),
            error: (e) => resolve({ error: String((e as { code?: number }).code ?? e) }),
            complete: () => undefined,
          },
        );
      });
      await client.dispose();
      return outcome;
    };
    expect(await attempt({ cookie, origin: `http://${host}` })).toEqual({ data: { viewer: { username: "victor" } } });
    expect(await attempt({ cookie, origin: "http://evil.example" })).toEqual({ error: "4403" });
  });

  it("refuses a subscription to an unknown device", async () => {
    const client = createClient({
      url: `${t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${viewer}` },
      retryAttempts: 0,
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription { deviceReadings(deviceId: "nope") { seq } }` },
        { next: (m) => resolve(m), error: resolve, complete: () => resolve("complete") },
      );
    });
    expect(JSON.stringify(outcome)).toContain("unknown device");
    await client.dispose();
  });
});
