import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSecret, silentLogger } from "@bitvelocity/common";
import type { ConfigReport } from "@bitvelocity/proto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import { type EdgeConfig, edgeConfigSchema } from "../config.js";
import { type ConfigLane, layeredOver, openRemoteConfig } from "./index.js";
import { STATE_FILE } from "./store.js";

/** One run of the agent as the lane sees it: what it posts, whether it is linked, hot applies and restarts. */
function boot(file: EdgeConfig) {
  const posted: ConfigReport[] = [];
  const applied: EdgeConfig[] = [];
  const restarts: string[] = [];
  const io = { connected: false };
  const { config, lane } = openRemoteConfig(file, { load: layeredOver(file), restart: (r) => restarts.push(r) }, silentLogger());
  lane.start({
    applyHot: (c) => applied.push(c),
    post: (r) => {
      posted.push(r);
      return io.connected;
    },
    connected: () => io.connected,
  });
  return { config, lane, posted, applied, restarts, io };
}

const device = (id: string) => ({ id, type: "env-sensor", secret_hash: hashSecret(`${id}-secret`) });

describe("the config lane", () => {
  let dir: string;
  let file: EdgeConfig;
  let lanes: ConfigLane[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bv-rcfg-"));
    file = edgeConfigSchema.parse({
      edge_id: "edge-1",
      data_dir: dir,
      uplink: { token: "file-token", tls: { insecure: true } },
      remote_config: { rollback_after_s: 5 },
    });
    lanes = [];
  });

  afterEach(() => {
    for (const lane of lanes) lane.stop();
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () => {
    const run = boot(file);
    lanes.push(run.lane);
    return run;
  };

  it("rejects a version with every problem and keeps running what it ran", () => {
    const run = start();
    run.io.connected = true;
    run.lane.update({ version: 1, yaml: stringify({ edge_id: "edge-9", devices: [{ id: "x", type: "toaster" }] }) });
    expect(run.posted.at(-1)).toMatchObject({ version: 1, state: "rejected", runningVersion: 0, restarted: false });
    expect(run.posted.at(-1)?.problems.map((p) => p.split(":")[0])).toEqual(["edge_id"]);
    run.lane.update({ version: 2, yaml: stringify({ devices: [{ id: "x", type: "toaster" }] }) });
    expect(
      run.posted
        .at(-1)
        ?.problems.map((p) => p.split(":")[0])
        .sort(),
    ).toEqual(["devices.0.secret_hash", "devices.0.type"]);
    expect(run.lane.runningVersion()).toBe(0);
    expect(run.applied).toEqual([]);
    expect(run.restarts).toEqual([]);
  });

  it("applies devices and limits hot, keeps the version, and runs it after a restart", () => {
    const run = start();
    run.io.connected = true;
    run.lane.update({ version: 1, yaml: stringify({ devices: [device("d1")], mqtt: { limits: { message_rate_per_s: 5 } } }) });
    expect(run.posted.at(-1)).toMatchObject({ version: 1, state: "applied", runningVersion: 1, restarted: false });
    expect(run.applied[0]?.devices.map((d) => d.id)).toEqual(["d1"]);
    expect(run.applied[0]?.mqtt.limits.message_rate_per_s).toBe(5);
    expect(run.restarts).toEqual([]);
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as { lastGood: { version: number }; trial: unknown };
    expect(state.lastGood.version).toBe(1);
    expect(state.trial).toBeNull();
    run.lane.stop();

    const again = start();
    expect(again.lane.runningVersion()).toBe(1);
    expect(again.config.devices.map((d) => d.id)).toEqual(["d1"]);
    expect(again.config.uplink.token).toBe("file-token");
  });

  it("restarts for what it cannot apply hot, and rolls back when the link does not come back", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const first = start();
    first.io.connected = true;
    first.lane.update({ version: 1, yaml: stringify({ devices: [device("d1")] }) });
    first.lane.update({ version: 2, yaml: stringify({ devices: [device("d1")], uplink: { url: "10.0.0.1:50051" } }) });
    expect(first.restarts).toEqual(["configuration version 2 changes uplink"]);
    first.lane.stop();

    // The restarted agent runs version 2 and cannot reach the cloud.
    const second = start();
    expect(second.config.uplink.url).toBe("10.0.0.1:50051");
    vi.advanceTimersByTime(4_900);
    expect(second.restarts).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(second.restarts).toEqual(["configuration version 1 changes uplink"]);
    second.lane.stop();

    // Back on version 1: the link comes up, the report says why.
    const third = start();
    expect(third.config.uplink.url).toBe("127.0.0.1:50051");
    expect(third.lane.runningVersion()).toBe(1);
    third.io.connected = true;
    third.lane.sessionOpened();
    expect(third.posted.at(-1)).toMatchObject({ version: 2, state: "rolled-back", runningVersion: 1, restarted: true });
    expect(third.posted.at(-1)?.problems[0]).toMatch(/could not reach the cloud for 5 s after applying version 2; back to version 1/);

    // Offered again (the cloud re-sends it until the report lands): not applied again.
    third.lane.update({ version: 2, yaml: stringify({ devices: [device("d1")], uplink: { url: "10.0.0.1:50051" } }) });
    expect(third.restarts).toEqual([]);
    expect(third.posted.at(-1)).toMatchObject({ version: 2, state: "rolled-back" });
  });

  it("falls back to its file when the running version no longer loads over it, and says so", () => {
    const run = start();
    run.io.connected = true;
    run.lane.update({ version: 1, yaml: stringify({ devices: [device("d1")] }) });
    run.lane.stop();
    // The stored version no longer loads (as when the file under it was edited): here, a damaged document.
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ ...state, running: { version: 1, yaml: "devices: [" } }));
    const after = start();
    expect(after.lane.runningVersion()).toBe(0);
    expect(after.config.devices).toEqual([]);
    after.io.connected = true;
    after.lane.sessionOpened();
    expect(after.posted.at(-1)).toMatchObject({ version: 1, state: "rolled-back", runningVersion: 0 });
  });

  it("rolls back a version the agent cannot start with", () => {
    const run = start();
    run.io.connected = true;
    run.lane.update({ version: 1, yaml: stringify({ devices: [device("d1")] }) });
    run.lane.update({ version: 2, yaml: stringify({ http: { port: 8099 } }) });
    expect(run.restarts).toHaveLength(1);
    run.lane.stop();
    const failed = start();
    expect(failed.config.http.port).toBe(8099);
    expect(failed.lane.startFailed(new Error("port 8099 is in use"))).toBe(true);
    failed.lane.stop();
    const back = start();
    expect(back.lane.runningVersion()).toBe(1);
    back.io.connected = true;
    back.lane.sessionOpened();
    expect(back.posted.at(-1)).toMatchObject({ version: 2, state: "rolled-back", runningVersion: 1 });
    expect(back.posted.at(-1)?.problems[0]).toMatch(/could not start with version 2: port 8099 is in use; back to version 1/);
    expect(back.lane.startFailed(new Error("again"))).toBe(false);
  });

  it("refuses every version when remote_config.enabled is false", () => {
    file = { ...file, remote_config: { ...file.remote_config, enabled: false } };
    const run = start();
    run.lane.update({ version: 1, yaml: stringify({ devices: [device("d1")] }) });
    expect(run.posted.at(-1)).toMatchObject({ state: "rejected", problems: ["remote_config.enabled is false in this edge's file"] });
  });
});
