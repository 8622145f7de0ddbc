/**
 * Agent releases over real HTTP and EdgeSync: publishing (admin only, signed with the release key,
 * the package's own version checked), staged rollout (a site first, then a share of the fleet),
 * offers on Hello and on widening, the download (edge credential, HTTP Range), and update reports
 * (a version an edge rolled back is not offered to it again).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EdgeUpdate, Release } from "@bitvelocity/api";
import { verifyRelease } from "@bitvelocity/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EDGE_TOKEN, EdgeLink, startTestCloud, type TestCloud, waitFor } from "./test-support.js";

function tinyDeb(dir: string, version: string): Buffer {
  const stage = join(dir, `stage-${version}`);
  mkdirSync(join(stage, "DEBIAN"), { recursive: true });
  mkdirSync(join(stage, "usr/lib/bv-edge/dist"), { recursive: true });
  writeFileSync(join(stage, "usr/lib/bv-edge/dist/bin.js"), `// ${version}\n`);
  writeFileSync(
    join(stage, "DEBIAN/control"),
    `Package: bv-edge\nVersion: ${version}\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: test\n`,
  );
  const deb = join(dir, `bv-edge_${version}_amd64.deb`);
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", stage, deb], { stdio: "ignore" });
  return readFileSync(deb);
}

describe("agent releases", () => {
  let cloud: TestCloud;
  let admin: string;
  let operator: string;
  let dir: string;
  let pkg: Buffer;
  let release: Release;
  const links: EdgeLink[] = [];

  beforeAll(async () => {
    cloud = await startTestCloud();
    admin = await cloud.login("admin");
    operator = await cloud.login("alice");
    dir = mkdtempSync(join(tmpdir(), "bv-releases-"));
    pkg = tinyDeb(dir, "0.2.0");
  });

  afterAll(async () => {
    for (const l of links) l.close();
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = (body: Buffer, query: string, token = admin) =>
    cloud.api(`/api/releases?${query}`, token, {
      method: "POST",
      headers: { "content-type": "application/vnd.debian.binary-package" },
      body: new Uint8Array(body),
    });

  async function connect(edgeId: string, agentVersion = "0.1.0"): Promise<EdgeLink> {
    const link = new EdgeLink(cloud.grpcAddress);
    links.push(link);
    link.hello(edgeId, EDGE_TOKEN, [], { agentVersion });
    await link.next("welcome");
    return link;
  }

  it("publishes a package signed with the release key; only admins, only as the version it is", async () => {
    expect((await publish(pkg, "version=0.2.0&arch=amd64", operator)).status).toBe(403);
    const mismatch = await publish(pkg, "version=0.3.0&arch=amd64");
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe("PACKAGE_MISMATCH");
    expect((await publish(pkg, "version=0.2.0&arch=sparc")).status).toBe(400);

    const res = await publish(pkg, "version=0.2.0&arch=amd64&healthDeadlineS=90");
    expect(res.status).toBe(201);
    release = ((await res.json()) as { release: Release }).release;
    expect(release).toMatchObject({
      version: "0.2.0",
      arch: "amd64",
      size: pkg.length,
      sha256: createHash("sha256").update(pkg).digest("hex"),
      healthDeadlineS: 90,
      rollout: { sites: [], percent: 0 },
    });
    expect((await publish(pkg, "version=0.2.0&arch=amd64")).status).toBe(409);
    const list = (await (await cloud.api("/api/releases", admin)).json()) as { releases: Release[]; publicKey: string };
    expect(verifyRelease(list.publicKey, release, Buffer.from(release.signature, "base64"))).toBe(true);
    // The claim hands out the same key (provisioning's answer carries it).
    expect(list.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it("offers the release to the rollout's site first, then to a share of the fleet, on Hello and when widened", async () => {
    const one = await connect("edge-1"); // site-1
    const two = await connect("edge-2"); // site-2
    const staged = await cloud.api(`/api/releases/${release.id}/rollout`, admin, {
      method: "POST",
      body: JSON.stringify({ sites: ["site-2"], percent: 0 }),
    });
    expect(((await staged.json()) as { offered: number }).offered).toBe(1);
    const offer = (await two.next("releaseOffer")).releaseOffer;
    expect(offer).toMatchObject({ version: "0.2.0", arch: "amd64", size: pkg.length, healthDeadlineS: 90 });
    expect(offer.url).toBe(`/edge/releases/${release.id}/package`);
    expect(Buffer.from(offer.signature).toString("base64")).toBe(release.signature);
    await new Promise((r) => setTimeout(r, 200));
    expect(one.inbox.some((m) => m.kind?.$case === "releaseOffer")).toBe(false);

    // An edge of another architecture, or already on the version, is not offered it.
    const arm = new EdgeLink(cloud.grpcAddress);
    links.push(arm);
    arm.hello("edge-2", EDGE_TOKEN, [], { arch: "arm64" });
    await arm.next("welcome");
    await new Promise((r) => setTimeout(r, 200));
    expect(arm.inbox.some((m) => m.kind?.$case === "releaseOffer")).toBe(false);

    await cloud.api(`/api/releases/${release.id}/rollout`, admin, {
      method: "POST",
      body: JSON.stringify({ sites: ["site-2"], percent: 100 }),
    });
    await one.next("releaseOffer");
    one.close();
    const again = await connect("edge-1");
    await again.next("releaseOffer");
    const updates = (await (await cloud.api("/api/edge-updates", operator)).json()) as { edges: EdgeUpdate[] };
    expect(updates.edges.find((e) => e.edgeId === "edge-1")).toMatchObject({ runningVersion: "0.1.0", version: "0.2.0", state: "offered" });
  });

  it("serves the package to an edge's credential only, resumably", async () => {
    const url = `${cloud.url}/edge/releases/${release.id}/package`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong", "x-bv-edge-id": "edge-1" } })).status).toBe(401);
    const auth = { authorization: `Bearer ${EDGE_TOKEN}`, "x-bv-edge-id": "edge-1" };
    const whole = await fetch(url, { headers: auth });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(pkg)).toBe(true);
    const rest = await fetch(url, { headers: { ...auth, range: "bytes=100-" } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get("content-range")).toBe(`bytes 100-${pkg.length - 1}/${pkg.length}`);
    expect(Buffer.from(await rest.arrayBuffer()).equals(pkg.subarray(100))).toBe(true);
    expect((await fetch(`${cloud.url}/edge/releases/${"0".repeat(32)}/package`, { headers: auth })).status).toBe(404);
  });

  it("records update reports, and does not offer a rolled-back version to that edge again", async () => {
    const link = await connect("edge-2");
    await link.next("releaseOffer");
    link.send({
      kind: {
        $case: "updateReport",
        updateReport: { version: "0.2.0", state: "rolled-back", error: "crash loop", runningVersion: "0.1.0", timeMs: Date.now() },
      },
    });
    const seen = await waitFor(async () => {
      const res = (await (await cloud.api("/api/edge-updates", operator)).json()) as { edges: EdgeUpdate[] };
      const e = res.edges.find((x) => x.edgeId === "edge-2");
      return e?.state === "rolled-back" ? e : undefined;
    });
    expect(seen).toMatchObject({ version: "0.2.0", error: "crash loop", runningVersion: "0.1.0" });
    link.close();
    const next = await connect("edge-2");
    await new Promise((r) => setTimeout(r, 300));
    expect(next.inbox.some((m) => m.kind?.$case === "releaseOffer")).toBe(false);
    const list = (await (await cloud.api("/api/releases", admin)).json()) as { releases: Release[] };
    expect(list.releases[0]?.failed).toBe(1);
  });
});
