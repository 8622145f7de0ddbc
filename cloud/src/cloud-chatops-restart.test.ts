/**
 * ChatOps results survive a restart of the cloud (a real stop and start on the same cloud.db):
 * a `/cmd` sent before the restart waits in chat_pending_commands. A command whose result was
 * recorded while the node was down is answered as the node starts; one still in flight is
 * re-sent to the edge by the restarted cloud, and its result is posted when the edge answers.
 * Each result is posted once, also across a further restart.
 */
import { join } from "node:path";
import type { ChatMessage } from "@bitvelocity/api";
import { CommandStatus } from "@bitvelocity/proto";
import Sqlite from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { ChatClient } from "./chat/chat-client.js";
import { EdgeLink, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

const ROOM = "site:site-1";
const DEVICES = [
  { deviceId: "valve-1", deviceType: "valve-actuator" },
  { deviceId: "valve-2", deviceType: "valve-actuator" },
];

let t: TestCloud | undefined;
const open: { close(): void }[] = [];

afterAll(async () => {
  for (const o of open) o.close();
  await t?.close();
});

async function connect(cloud: TestCloud, token: string): Promise<ChatClient> {
  const c = new ChatClient(cloud.url, token, "alice");
  open.push(c);
  await c.connected();
  await c.follow(ROOM);
  return c;
}

async function link(cloud: TestCloud): Promise<EdgeLink> {
  const edge = new EdgeLink(cloud.grpcAddress);
  open.push(edge);
  edge.hello("edge-1", undefined, DEVICES);
  await edge.next("welcome");
  return edge;
}

function pendingRows(dir: string): { command_id: string; room_id: string; requested_by: string }[] {
  const db = new Sqlite(join(dir, "cloud.db"), { readonly: true });
  try {
    return db.prepare("select command_id, room_id, requested_by from chat_pending_commands order by created_at").all() as {
      command_id: string;
      room_id: string;
      requested_by: string;
    }[];
  } finally {
    db.close();
  }
}

const results = (c: ChatClient, device: string) =>
  c.view(ROOM).filter((m: ChatMessage) => m.kind === "bot" && m.text.startsWith(`set_position on #${device}:`));

describe("ChatOps across a cloud restart", () => {
  it("posts the result that came in while the cloud was down, and waits for the one still in flight", async () => {
    t = await startTestCloud();
    const dir = t.config.data_dir;
    const token = await t.login("alice");
    let alice = await connect(t, token);
    let edge = await link(t);

    expect(await alice.send(ROOM, "/cmd valve-1 set_position position=40")).toMatchObject({ ok: true, message: { kind: "bot" } });
    const first = (await edge.next("command")).command;
    expect(await alice.send(ROOM, "/cmd valve-2 set_position position=70")).toMatchObject({ ok: true, message: { kind: "bot" } });
    const second = (await edge.next("command")).command;
    expect(pendingRows(dir).map((r) => [r.command_id, r.room_id, r.requested_by])).toEqual([
      [first.commandId, ROOM, "alice"],
      [second.commandId, ROOM, "alice"],
    ]);

    // The cloud goes down before either result arrives.
    alice.close();
    edge.close();
    await t.cloud.stop();

    // Meanwhile the first command's result is recorded in the shared database (as the node that
    // holds the edge's stream records it while this one is down).
    const db = new Sqlite(join(dir, "cloud.db"));
    const changed = db
      .prepare(
        "update commands set status = 'succeeded', result_json = ?, updated_at = ? where id = ? and status in ('pending', 'delivered')",
      )
      .run(JSON.stringify({ position: 40 }), Date.now(), first.commandId);
    db.close();
    expect(changed.changes).toBe(1);

    // Same database, new process state: the start posts the first result without any event.
    t = await startTestCloud({ data_dir: dir });
    alice = await connect(t, token);
    const posted = await waitFor(() => results(alice, "valve-1")[0], 5000, "the result recorded while down");
    expect(posted.text).toBe('set_position on #valve-1: succeeded → {"position":40} (@alice)');
    expect(pendingRows(dir).map((r) => r.command_id)).toEqual([second.commandId]);
    expect(results(alice, "valve-2")).toHaveLength(0);

    // The second is still in flight: the edge reconnects, gets it again, and answers.
    edge = await link(t);
    const again = (await edge.next("command", 5000)).command;
    expect(again.commandId).toBe(second.commandId);
    edge.send({
      kind: {
        $case: "commandResult",
        commandResult: {
          commandId: again.commandId,
          deviceId: "valve-2",
          status: CommandStatus.COMMAND_STATUS_FAILED,
          message: "stuck at 55",
          resultJson: "",
          timeMs: Date.now(),
        },
      },
    });
    const failed = await waitFor(() => results(alice, "valve-2")[0], 5000, "the in-flight command's result");
    expect(failed.text).toBe("set_position on #valve-2: failed (stuck at 55) (@alice)");
    await waitFor(() => pendingRows(dir).length === 0, 5000, "nothing left waiting");

    // A further restart posts nothing again: each result exists once.
    alice.close();
    edge.close();
    await t.cloud.stop();
    t = await startTestCloud({ data_dir: dir });
    alice = await connect(t, token);
    await new Promise((r) => setTimeout(r, 300));
    expect(results(alice, "valve-1")).toHaveLength(1);
    expect(results(alice, "valve-2")).toHaveLength(1);
  });
});
