/**
 * Alerts, API tokens, the audit log and the SSE stream over real HTTP, with readings through a
 * real gRPC EdgeLink and alerts pushed to a real socket.io-client. Every role rule is checked.
 */
import { connect as tcpConnect } from "node:net";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
let admin: string;
let alice: string;
let victor: string;
let edge: EdgeLink;
let seq = 0;
const sockets: Socket[] = [];

interface ErrorBody {
  error: { code: string; problems?: { path: string }[] };
}
const code = async (res: Response) => ((await res.json()) as ErrorBody).error.code;
const post = (path: string, token: string | undefined, body?: unknown) =>
  t.api(path, token, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

async function send(values: Record<string, number>, deviceId = "env-1"): Promise<void> {
  seq++;
  edge.batch(seq, [reading(seq, deviceId, values, { edgeTimeMs: Date.now() })]);
  await edge.next("ack");
}

beforeAll(async () => {
  t = await startTestCloud({ "live.max_buffered": 50 });
  [admin, alice, victor] = await Promise.all([t.login("admin"), t.login("alice"), t.login("victor")]);
  edge = new EdgeLink(t.grpcAddress);
  edge.hello("edge-1", undefined, [
    { deviceId: "env-1", deviceType: "env-sensor" },
    { deviceId: "valve-1", deviceType: "valve-actuator" },
  ]);
  await edge.next("welcome");
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  edge.close();
  await t.close();
});

const hotRule = {
  name: "Hot hall",
  kind: "metric_threshold",
  severity: "critical",
  params: { metric: "temperature", op: "above", threshold: 40 },
};

describe("alert rules", () => {
  it("only admins create, change and delete rules; everyone reads them", async () => {
    expect((await post("/api/alert-rules", victor, hotRule)).status).toBe(403);
    const asOperator = await post("/api/alert-rules", alice, hotRule);
    expect(asOperator.status).toBe(403);
    expect(await code(asOperator)).toBe("FORBIDDEN");
    const created = await post("/api/alert-rules", admin, { ...hotRule, name: "temp" });
    expect(created.status).toBe(201);
    const { rule } = (await created.json()) as { rule: { id: string; enabled: boolean } };
    expect(rule.enabled).toBe(true);
    const list = (await (await t.api("/api/alert-rules", victor)).json()) as { rules: { id: string }[] };
    expect(list.rules.map((r) => r.id)).toContain(rule.id);
    const put = (token: string, body: unknown) =>
      t.api(`/api/alert-rules/${rule.id}`, token, { method: "PUT", body: JSON.stringify(body) });
    expect((await put(alice, hotRule)).status).toBe(403);
    expect((await put(admin, hotRule)).status).toBe(200);
    expect((await t.api(`/api/alert-rules/${rule.id}`, alice, { method: "DELETE" })).status).toBe(403);
    expect((await t.api(`/api/alert-rules/${rule.id}`, admin, { method: "DELETE" })).status).toBe(204);
    expect((await t.api(`/api/alert-rules/${rule.id}`, admin, { method: "DELETE" })).status).toBe(404);
  });

  it("refuses bad JSON, bad rules and unknown ids", async () => {
    const bad = await t.api("/api/alert-rules", admin, { method: "POST", body: "{nope" });
    expect(bad.status).toBe(400);
    expect(await code(bad)).toBe("BAD_JSON");
    const invalid = await post("/api/alert-rules", admin, { name: "", kind: "metric_threshold", params: { op: "sideways" } });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as ErrorBody;
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.problems?.map((p) => p.path)).toEqual(["name"]);
    const params = await post("/api/alert-rules", admin, { name: "x", kind: "device_offline", params: { for_s: 0 } });
    expect(((await params.json()) as ErrorBody).error.problems?.map((p) => p.path)).toEqual(["params.for_s"]);
    expect((await t.api("/api/alert-rules/nope", admin, { method: "PUT", body: JSON.stringify(hotRule) })).status).toBe(404);
    expect((await t.api("/api/alert-rules/nope", victor)).status).toBe(404);
    expect((await t.api("/api/alerts?state=burning", victor)).status).toBe(400);
    expect((await t.api("/api/alerts?limit=0", victor)).status).toBe(400);
  });
});

describe("alerts", () => {
  it("fires from real readings, reaches socket.io clients, and only operators acknowledge and resolve", async () => {
    const rule = (await (await post("/api/alert-rules", admin, hotRule)).json()) as { rule: { id: string } };
    const s = io(t.url, { auth: { token: victor }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(s);
    const pushed: { id: string; state: string }[] = [];
    s.on("alert", (a: { id: string; state: string }) => pushed.push(a));
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("connect_error", reject);
    });
    await send({ temperature: 20 });
    await send({ temperature: 45 });
    const fired = await waitFor(() => pushed.find((a) => a.state === "open"), 5000, "alert over socket.io");
    const { alerts } = (await (await t.api("/api/alerts?state=active", victor)).json()) as { alerts: { id: string; subjectId: string }[] };
    expect(alerts.map((a) => [a.id, a.subjectId])).toEqual([[fired.id, "env-1"]]);

    const ack = await post(`/api/alerts/${fired.id}/ack`, victor);
    expect(ack.status).toBe(403);
    expect((await post(`/api/alerts/${fired.id}/resolve`, victor)).status).toBe(403);
    const acked = await post(`/api/alerts/${fired.id}/ack`, alice);
    expect(acked.status).toBe(200);
    expect(((await acked.json()) as { alert: { state: string; acknowledgedBy: string } }).alert).toMatchObject({
      state: "acknowledged",
      acknowledgedBy: "alice",
    });
    await waitFor(() => pushed.find((a) => a.id === fired.id && a.state === "acknowledged"), 5000, "ack over socket.io");
    expect((await post(`/api/alerts/${fired.id}/resolve`, alice)).status).toBe(200);
    const again = await post(`/api/alerts/${fired.id}/resolve`, alice);
    expect(again.status).toBe(409);
    expect(await code(again)).toBe("CONFLICT");
    expect((await post("/api/alerts/no-such-alert/ack", alice)).status).toBe(404);
    await t.api(`/api/alert-rules/${rule.rule.id}`, admin, { method: "DELETE" });
  });
});

describe("API tokens", () => {
  it("creates a token from a session, uses it for the API and socket.io, and revokes it", async () => {
    const res = await post("/api/tokens", alice, { name: "grafana", role: "viewer", ttl_days: 30 });
    expect(res.status).toBe(201);
    const { token, apiToken } = (await res.json()) as { token: string; apiToken: { id: string; role: string } };
    expect(token).toMatch(/^bvt_/);
    expect(apiToken.role).toBe("viewer");
    const me = (await (await t.api("/api/auth/me", token)).json()) as { user: { username: string; role: string } };
    expect(me.user).toEqual({ username: "alice", role: "viewer" });
    // A viewer token cannot send commands, even though its owner could.
    const cmd = await post("/api/devices/valve-1/commands", token, { name: "set_position", params: { position: 10 } });
    expect(cmd.status).toBe(403);
    // Tokens do not mint tokens.
    expect((await post("/api/tokens", token, { name: "more" })).status).toBe(403);
    const s = io(t.url, {
      extraHeaders: { authorization: `Bearer ${token}` },
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("connect_error", reject);
    });
    // Someone else's token is invisible to a non-admin.
    expect((await t.api(`/api/tokens/${apiToken.id}`, victor, { method: "DELETE" })).status).toBe(404);
    const list = (await (await t.api("/api/tokens", alice)).json()) as { tokens: { id: string }[] };
    expect(list.tokens.map((x) => x.id)).toEqual([apiToken.id]);
    expect((await t.api("/api/tokens?all=1", alice)).status).toBe(403);
    const dropped = new Promise<string>((resolve) => s.once("disconnect", (reason) => resolve(reason)));
    expect((await t.api(`/api/tokens/${apiToken.id}`, alice, { method: "DELETE" })).status).toBe(200);
    // Revoking the token also ends its live connection.
    expect(await dropped).toBe("io server disconnect");
    expect((await t.api("/api/auth/me", token)).status).toBe(401);
    // Revoking twice is harmless.
    const twice = await t.api(`/api/tokens/${apiToken.id}`, alice, { method: "DELETE" });
    expect(((await twice.json()) as { apiToken: { revoked: boolean } }).apiToken.revoked).toBe(true);
  });

  it("refuses a role above the owner's and bad token requests", async () => {
    const above = await post("/api/tokens", alice, { name: "x", role: "admin" });
    expect(above.status).toBe(400);
    expect(((await above.json()) as ErrorBody).error.problems?.map((p) => p.path)).toEqual(["role"]);
    const bad = await post("/api/tokens", alice, { name: "", role: "king", ttl_days: 0 });
    expect(((await bad.json()) as ErrorBody).error.problems?.map((p) => p.path)).toEqual(["name", "role", "ttl_days"]);
    expect((await post("/api/tokens", alice, [1, 2])).status).toBe(400);
    expect((await t.api("/api/auth/me", "bvt_forged")).status).toBe(401);
  });

  it("lets an operator token send commands", async () => {
    const { token } = (await (await post("/api/tokens", alice, { name: "script" })).json()) as { token: string };
    const cmd = await post("/api/devices/valve-1/commands", token, { name: "set_position", params: { position: 10 } });
    expect(cmd.status).toBe(202);
    const range = await post("/api/devices/valve-1/commands", token, { name: "set_position", params: { position: 1000 } });
    expect(range.status).toBe(400);
    expect(((await range.json()) as ErrorBody).error.problems?.map((p) => p.path)).toEqual(["params.position"]);
  });
});

describe("logout", () => {
  it("ends the session's live connection", async () => {
    const session = await t.login("victor");
    const s = io(t.url, { auth: { token: session }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("connect_error", reject);
    });
    const dropped = new Promise<string>((resolve) => s.once("disconnect", (reason) => resolve(reason)));
    expect((await post("/api/auth/logout", session)).status).toBe(204);
    expect(await dropped).toBe("io server disconnect");
  });
});

describe("audit log", () => {
  it("records commands and admin actions; only admins read it", async () => {
    expect((await t.api("/api/audit", alice)).status).toBe(403);
    expect((await t.api("/api/audit", victor)).status).toBe(403);
    expect((await t.api("/api/edges/edge-2/token", admin, { method: "POST" })).status).toBe(201);
    const { entries } = (await (await t.api("/api/audit?limit=100", admin)).json()) as {
      entries: { actor: string; via: string; action: string; target: string }[];
    };
    const seen = entries.map((e) => `${e.actor}/${e.via}/${e.action}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        "admin/session/rule.create",
        "admin/session/rule.update",
        "admin/session/rule.delete",
        "alice/session/alert.acknowledge",
        "alice/session/alert.resolve",
        "alice/session/token.create",
        "alice/session/token.revoke",
        "alice/token/command.send",
        "admin/session/edge.token.rotate",
      ]),
    );
    expect(entries.find((e) => e.action === "command.send")?.target).toBe("valve-1");
    const onlyCommands = (await (await t.api("/api/audit?action=command.send", admin)).json()) as { entries: unknown[] };
    expect(onlyCommands.entries).toHaveLength(1);
    expect((await t.api("/api/audit?limit=-1", admin)).status).toBe(400);
  });
});

describe("Server-Sent Events", () => {
  it("streams a device's readings to an authenticated client", async () => {
    const controller = new AbortController();
    const res = await t.api("/api/devices/env-1/stream", victor, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
      }
    })().catch(() => {});
    await waitFor(() => text.includes("event: device"), 5000, "device event");
    await send({ temperature: 21.5 });
    await send({ humidity: 33 }, "env-1");
    await waitFor(() => text.includes('"humidity":33'), 5000, "reading events");
    const events = text
      .split("\n\n")
      .filter((block) => block.includes("event: reading"))
      .map((block) => JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { deviceId: string; values: Record<string, number> });
    expect(events.map((e) => e.values)).toEqual([{ temperature: 21.5 }, { humidity: 33 }]);
    expect(events.every((e) => e.deviceId === "env-1")).toBe(true);
    controller.abort();
    await pump;
  });

  it("never lets a stream that is not read slow ingest down; its buffer stays bounded", { timeout: 30_000 }, async () => {
    // A raw client that sends the request and then never reads: the kernel buffers fill, then
    // Node's, then the server must drop (and count) instead of queueing without bound.
    const url = new URL(t.url);
    const sock = tcpConnect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write(`GET /api/devices/env-1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${victor}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 200));
    sock.pause();
    const dropped = async () => Number(/^bv_cloud_sse_dropped_total (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1] ?? 0);
    const before = await dropped();
    for (let b = 0; b < 200 && (await dropped()) === before; b++) {
      const readings = Array.from({ length: 500 }, () => {
        seq++;
        return reading(seq, "env-1", { temperature: 20 + (seq % 10), humidity: 40, co2: 400 + (seq % 100) }, { edgeTimeMs: Date.now() });
      });
      const ackAt = Date.now();
      edge.batch(10_000 + b, readings);
      const { ack } = await edge.next("ack", 5000);
      expect(ack.seqs).toHaveLength(500);
      expect(Date.now() - ackAt).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(await dropped()).toBeGreaterThan(before);
    sock.destroy();
  });

  it("refuses unauthenticated clients and unknown devices", async () => {
    const anon = await t.api("/api/devices/env-1/stream", undefined);
    expect(anon.status).toBe(401);
    const unknown = await t.api("/api/devices/nope/stream", victor);
    expect(unknown.status).toBe(404);
    expect(await code(unknown)).toBe("NOT_FOUND");
  });
});
