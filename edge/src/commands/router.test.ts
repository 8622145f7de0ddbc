import { type Command, CommandStatus } from "@bitvelocity/proto";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../northbound/test-cloud.js";
import { type Rig, startRig } from "../northbound/test-setup.js";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const S = CommandStatus;
let next = 0;
function command(over: Partial<Command> = {}): Command {
  return {
    commandId: `cmd-${++next}`,
    deviceId: "valve-1",
    name: "set_position",
    paramsJson: '{"position":42}',
    expiresAtMs: Date.now() + 10_000,
    ...over,
  };
}

async function connected(): Promise<Rig> {
  rig = await startRig();
  const r = rig;
  await waitFor(() => r.link.connected(), 5_000, "connected");
  return r;
}

function statuses(r: Rig, commandId: string): CommandStatus[] {
  return r.cloud.commandResults.filter((c) => c.commandId === commandId).map((c) => c.status);
}

describe("command router over the gRPC link", () => {
  it("delivers a command to the device and reports DELIVERED then SUCCEEDED with the result", async () => {
    const r = await connected();
    r.gateway.answer = () => ({ status: "succeeded", message: "moved", result: { position: 42 } });
    r.gateway.answerDelayMs = 50;
    const cmd = command();
    r.cloud.sendCommand(cmd);
    await waitFor(() => statuses(r, cmd.commandId).length === 2, 3_000, "two results");
    expect(statuses(r, cmd.commandId)).toEqual([S.COMMAND_STATUS_DELIVERED, S.COMMAND_STATUS_SUCCEEDED]);
    expect(r.gateway.sent).toEqual([
      { deviceId: "valve-1", command: { id: cmd.commandId, name: "set_position", params: { position: 42 } } },
    ]);
    const final = r.cloud.commandResults.at(-1)!;
    expect(final).toMatchObject({ deviceId: "valve-1", message: "moved" });
    expect(JSON.parse(final.resultJson)).toEqual({ position: 42 });
    expect(await r.metric("bv_edge_commands_total", { status: "succeeded" })).toBe(1);
    expect(await r.metric("bv_edge_commands_total", { status: "delivered" })).toBe(1);
  });

  it("reports FAILED when the device says so", async () => {
    const r = await connected();
    r.gateway.answer = () => ({ status: "failed", message: "motor stalled" });
    const cmd = command({ name: "open", paramsJson: "" });
    r.cloud.sendCommand(cmd);
    await waitFor(() => statuses(r, cmd.commandId).length === 2, 3_000, "two results");
    expect(statuses(r, cmd.commandId)).toEqual([S.COMMAND_STATUS_DELIVERED, S.COMMAND_STATUS_FAILED]);
    expect(r.cloud.commandResults.at(-1)!.message).toBe("motor stalled");
  });

  it("rejects an unknown device, an unknown command, bad parameters and malformed paramsJson; the link stays up", async () => {
    const r = await connected();
    const cases = [
      command({ deviceId: "nope-9" }),
      command({ name: "self_destruct" }),
      command({ paramsJson: '{"position":150}' }),
      command({ paramsJson: '{"position":"high","extra":1}' }),
      command({ paramsJson: '{"position":' }),
      command({ paramsJson: "[1,2]" }),
      command({ commandId: "" }),
    ];
    for (const c of cases) r.cloud.sendCommand(c);
    await waitFor(() => r.cloud.commandResults.length === cases.length, 3_000, "all rejected");
    expect(r.cloud.commandResults.map((c) => c.status)).toEqual(cases.map(() => S.COMMAND_STATUS_REJECTED));
    const messages = r.cloud.commandResults.map((c) => c.message);
    expect(messages[0]).toContain("unknown device");
    expect(messages[2]).toContain("params.position");
    expect(messages[4]).toContain("not valid JSON");
    expect(r.gateway.sent).toEqual([]);
    expect(r.link.connected()).toBe(true);
    expect(await r.metric("bv_edge_commands_total", { status: "rejected" })).toBe(cases.length);
    // Still working afterwards.
    r.gateway.answer = () => ({ status: "succeeded" });
    const ok = command();
    r.cloud.sendCommand(ok);
    await waitFor(() => statuses(r, ok.commandId).includes(S.COMMAND_STATUS_SUCCEEDED), 3_000, "later command");
  });

  it("reports EXPIRED when the device does not answer in time, or when it arrives already expired", async () => {
    const r = await connected();
    const silent = command({ expiresAtMs: Date.now() + 300 });
    const stale = command({ expiresAtMs: Date.now() - 1 });
    r.cloud.sendCommand(silent);
    r.cloud.sendCommand(stale);
    await waitFor(() => statuses(r, silent.commandId).length === 2, 3_000, "expiry");
    expect(statuses(r, silent.commandId)).toEqual([S.COMMAND_STATUS_DELIVERED, S.COMMAND_STATUS_EXPIRED]);
    expect(statuses(r, stale.commandId)).toEqual([S.COMMAND_STATUS_EXPIRED]);
    expect(r.gateway.sent.map((s) => s.command.id)).toEqual([silent.commandId]);
    // A late answer after the deadline changes nothing.
    r.gateway.publishResult("valve-1", { id: silent.commandId, status: "succeeded" });
    await new Promise((res) => setTimeout(res, 100));
    expect(statuses(r, silent.commandId)).toEqual([S.COMMAND_STATUS_DELIVERED, S.COMMAND_STATUS_EXPIRED]);
  });

  it("does not send a duplicate commandId to the device again, and re-reports its status", async () => {
    const r = await connected();
    r.gateway.answer = () => ({ status: "succeeded" });
    const cmd = command();
    r.cloud.sendCommand(cmd);
    await waitFor(() => statuses(r, cmd.commandId).length === 2, 3_000, "first run");
    r.cloud.sendCommand(cmd);
    await waitFor(() => statuses(r, cmd.commandId).length === 3, 3_000, "re-report");
    expect(statuses(r, cmd.commandId).at(-1)).toBe(S.COMMAND_STATUS_SUCCEEDED);
    expect(r.gateway.sent).toHaveLength(1);
  });

  it("ignores a result from another device or for an unknown command", async () => {
    const r = await connected();
    const cmd = command({ expiresAtMs: Date.now() + 400 });
    r.cloud.sendCommand(cmd);
    await waitFor(() => statuses(r, cmd.commandId).length === 1, 3_000, "delivered");
    r.gateway.publishResult("env-1", { id: cmd.commandId, status: "succeeded" });
    r.gateway.publishResult("valve-1", { id: "never-sent", status: "succeeded" });
    await waitFor(() => statuses(r, cmd.commandId).length === 2, 3_000, "expired");
    expect(statuses(r, cmd.commandId)).toEqual([S.COMMAND_STATUS_DELIVERED, S.COMMAND_STATUS_EXPIRED]);
    expect(r.cloud.commandResults.some((c) => c.commandId === "never-sent")).toBe(false);
  });
});
