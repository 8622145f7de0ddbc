/**
 * The chat bot and ChatOps on a real cloud: an edge over real gRPC, an alert that fires from a
 * reading, the bot's posts in the site room, /ack through the alerts service, /cmd through the
 * command service (result posted back), a viewer refused privately and audited.
 */
import type { ChatMessage, SendResult } from "@bitvelocity/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "./chat/chat-client.js";
import { EdgeLink, reading, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

let t: TestCloud;
let edge: EdgeLink;
let alice: ChatClient;
let victor: ChatClient;
let admin: string;
const ROOM = "site:site-1";

beforeAll(async () => {
  t = await startTestCloud();
  admin = await t.login("admin");
  alice = new ChatClient(t.url, await t.login("alice"), "alice");
  victor = new ChatClient(t.url, await t.login("victor"), "victor");
  await Promise.all([alice.connected(), victor.connected()]);
  await alice.follow(ROOM);
  edge = new EdgeLink(t.grpcAddress);
  edge.hello("edge-1", undefined, [
    { deviceId: "env-1", deviceType: "env-sensor" },
    { deviceId: "valve-1", deviceType: "valve-actuator" },
  ]);
  await edge.next("welcome");
});

afterAll(async () => {
  alice?.close();
  victor?.close();
  edge?.close();
  await t?.close();
});

const botPost = (pattern: RegExp) => () => alice.view(ROOM).find((m: ChatMessage) => m.kind === "bot" && pattern.test(m.text));

async function audit(action: string): Promise<{ actor: string; target: string; detail: Record<string, unknown> }[]> {
  const res = await t.api(`/api/audit?action=${encodeURIComponent(action)}`, admin);
  return ((await res.json()) as { entries: { actor: string; target: string; detail: Record<string, unknown> }[] }).entries;
}

describe("the bot and ChatOps", () => {
  it("the bot posts the edge coming online into its site room", async () => {
    await waitFor(botPost(/Edge #edge-1 is online/), 5000, "the edge online post");
  });

  it("an alert fires, the bot posts it, /ack in chat acknowledges it through the alerts service", async () => {
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
    edge.batch(1, [reading(1, "env-1", { temperature: 55 }, { edgeTimeMs: Date.now() })]);
    await edge.next("ack");
    const fired = await waitFor(botPost(/CRITICAL Hot hall on #env-1/), 5000, "the alert post");
    const short = /\/ack ([0-9a-f]{8})/.exec(fired.text)?.[1];
    expect(short).toBeDefined();
    // A viewer may not acknowledge: refused privately, nothing posted.
    const refused = await victor.send(ROOM, `/ack ${short}`);
    expect(refused).toMatchObject({ ok: true, message: null, notice: { code: "FORBIDDEN" } });
    const acked = await alice.send(ROOM, `/ack ${short}`);
    expect(acked).toMatchObject({ ok: true, notice: null, message: { kind: "bot" } });
    const alerts = (await (await t.api("/api/alerts", admin)).json()) as {
      alerts: { id: string; state: string; acknowledgedBy: string }[];
    };
    const alert = alerts.alerts.find((a) => a.id.startsWith(short as string));
    expect(alert).toMatchObject({ state: "acknowledged", acknowledgedBy: "alice" });
    // Posted once in this room although the bot hears alertUpdated too.
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.view(ROOM).filter((m) => /acknowledged by @alice/.test(m.text))).toHaveLength(1);
    expect((await audit("alert.acknowledge")).find((e) => e.actor === "alice" && e.detail.via === "chat")).toBeDefined();
  });

  it("a viewer's /cmd is refused privately and audited; an operator's reaches the edge and its result is posted", async () => {
    const before = alice.view(ROOM).length;
    const refused = await victor.send(ROOM, "/cmd valve-1 open");
    expect(refused).toMatchObject({ ok: true, message: null, notice: { code: "FORBIDDEN" } });
    const entries = await audit("command.send.refused");
    expect(entries.find((e) => e.actor === "victor" && e.target === "valve-1")).toBeDefined();
    expect(edge.inbox.filter((m) => m.kind?.$case === "command")).toHaveLength(0);

    const bad = (await alice.send(ROOM, "/cmd valve-1 set_position position=150")) as { ok: true } & SendResult;
    expect(bad.notice?.code).toBe("VALIDATION_FAILED");
    expect(bad.notice?.text).toMatch(/position/);

    const sent = await alice.send(ROOM, "/cmd valve-1 set_position position=40");
    expect(sent).toMatchObject({ ok: true, notice: null, message: { kind: "bot" } });
    const cmd = await edge.next("command", 5000);
    expect(cmd.command).toMatchObject({ deviceId: "valve-1", name: "set_position" });
    edge.send({
      kind: {
        $case: "commandResult",
        commandResult: {
          commandId: cmd.command.commandId,
          deviceId: "valve-1",
          status: 3,
          message: "",
          resultJson: "",
          timeMs: Date.now(),
        },
      },
    });
    await waitFor(botPost(/set_position on #valve-1: succeeded/), 5000, "the command result post");
    expect(alice.view(ROOM).length).toBeGreaterThan(before);
    expect((await audit("command.send")).find((e) => e.actor === "alice" && e.detail.via === "chat")).toBeDefined();
  });

  it("unknown commands get help, not silence; /status answers in the room", async () => {
    const unknown = (await alice.send(ROOM, "/frobnicate")) as { ok: true } & SendResult;
    expect(unknown.notice?.code).toBe("UNKNOWN_COMMAND");
    expect(unknown.notice?.text).toMatch(/\/ack ALERT/);
    const status = (await alice.send(ROOM, "/status valve-1")) as { ok: true } & SendResult;
    expect(status.message?.text).toMatch(/#valve-1 \(valve-actuator\) is online/);
  });
});
