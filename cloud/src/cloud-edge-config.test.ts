/**
 * Remote configuration in the cloud, against a real EdgeSync client: a version saved while the
 * edge is offline goes down at its next Hello (not when the Hello says it already runs it), a
 * report moves the state and stops the re-sending, repeats are recorded once, and the API refuses
 * a stale editor, an unknown edge and a masked secret with nothing behind it.
 */
import type { AuditEntry, EdgeConfigView } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { EdgeLink, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

describe("edge configuration versions", () => {
  let t: TestCloud;
  let admin: string;
  const links: EdgeLink[] = [];

  beforeAll(async () => {
    t = await startTestCloud();
    admin = await t.login("admin");
  });

  afterAll(async () => {
    for (const l of links) l.close();
    await t.close();
  });

  const link = () => {
    const l = new EdgeLink(t.grpcAddress);
    links.push(l);
    return l;
  };
  const save = (yaml: string, baseVersion?: number, edge = "edge-2") =>
    t.api(`/api/edges/${edge}/config`, admin, { method: "POST", body: JSON.stringify({ yaml, baseVersion }) });
  const view = async (edge = "edge-2") => (await (await t.api(`/api/edges/${edge}/config`, admin)).json()) as EdgeConfigView;
  const report = (l: EdgeLink, version: number, state: string, runningVersion: number) =>
    l.send({
      kind: { $case: "configReport", configReport: { version, state, problems: [], runningVersion, restarted: false, timeMs: Date.now() } },
    });
  const doc = stringify({ devices: [{ id: "env-7", type: "env-sensor", secret_hash: hashSecret("s") }] });

  it("sends a version saved while the edge was offline at its next Hello, until the edge reports on it", async () => {
    expect((await save(doc, 0)).status).toBe(201);
    expect((await view()).latest).toMatchObject({ version: 1, state: "pending", author: "admin" });

    const first = link();
    first.hello("edge-2");
    await first.next("welcome");
    const update = await first.next("configUpdate");
    expect(update.configUpdate.version).toBe(1);
    expect(update.configUpdate.yaml).toContain("sha256$"); // the edge gets the real secret
    report(first, 1, "applied", 1);
    await waitFor(async () => ((await view()).latest?.state === "applied" ? true : undefined));
    report(first, 1, "applied", 1); // the edge repeats its report at every session
    first.close();

    const second = link();
    second.hello("edge-2", undefined, [], { configVersion: 1 });
    await second.next("welcome");
    await expect(second.next("configUpdate", 500)).rejects.toThrow(/no configUpdate/);
    expect((await view()).runningVersion).toBe(1);
    const { entries } = (await (await t.api("/api/audit?action=edge.config.applied", admin)).json()) as { entries: AuditEntry[] };
    expect(entries.filter((e) => e.target === "edge-2")).toHaveLength(1);
  });

  it("sends a new version at once to a connected edge", async () => {
    const l = link();
    l.hello("edge-2", undefined, [], { configVersion: 1 });
    await l.next("welcome");
    const edited = `${(await view()).latest?.yaml ?? ""}mqtt:\n  limits:\n    max_connections: 9\n`;
    expect(edited).toContain('"********"');
    expect((await save(edited, 1)).status).toBe(201);
    const update = await l.next("configUpdate");
    expect(update.configUpdate).toMatchObject({ version: 2 });
    expect(update.configUpdate.yaml).not.toContain("********");
  });

  it("refuses a stale editor, an unknown edge, and a masked secret with nothing stored behind it", async () => {
    expect((await save(doc, 0)).status).toBe(409);
    expect((await save(doc, undefined, "edge-404")).status).toBe(404);
    const masked = await save(stringify({ uplink: { token: "********" } }));
    expect(masked.status).toBe(422);
    const body = (await masked.json()) as { error: { problems: { path: string }[] } };
    expect(body.error.problems.map((p) => p.path)).toEqual(["uplink.token"]);
    expect((await view()).versions.map((v) => v.version)).toEqual([2, 1]);
  });
});
