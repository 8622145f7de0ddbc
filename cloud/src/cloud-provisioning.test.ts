/**
 * Claim codes over real HTTP against a started cloud: issue (admin only), exchange once, refuse a
 * used, expired, unknown or malformed code with a clear error, rate-limit failed attempts, audit
 * every attempt; then the claimed edge streams over real gRPC with its new token, and a restarted
 * cloud still knows it. Also the installer and package routes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CreatedClaim, EdgeClaim, EdgeIdentity } from "@bitvelocity/api";
import { afterEach, describe, expect, it } from "vitest";
import { normaliseClaimCode } from "./provisioning/claim-codes.js";
import { EdgeLink, startTestCloud, type TestCloud } from "./test-support.js";

let t: TestCloud | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function createClaim(cloud: TestCloud, token: string, body: Record<string, unknown>) {
  return cloud.api("/api/provisioning/claims", token, { method: "POST", body: JSON.stringify(body) });
}

function claim(cloud: TestCloud, code: string) {
  return cloud.api("/api/edge/claim", undefined, { method: "POST", body: JSON.stringify({ code }) });
}

describe("claim codes", () => {
  it("an admin issues a code; the edge exchanges it once for its identity and token, and connects with it", async () => {
    t = await startTestCloud();
    const admin = await t.login("admin");
    const operator = await t.login("alice");
    expect((await createClaim(t, operator, { siteId: "site-1", edgeId: "pi-7" })).status).toBe(403);

    const res = await createClaim(t, admin, { siteId: "site-1", edgeId: "pi-7", name: "Packing line Pi" });
    expect(res.status).toBe(201);
    const created = (await res.json()) as CreatedClaim;
    expect(created.code).toMatch(/^[2-9A-Z]{5}-[2-9A-Z]{5}$/);
    expect(created.claim).toMatchObject({
      edgeId: "pi-7",
      siteId: "site-1",
      name: "Packing line Pi",
      state: "pending",
      createdBy: "admin",
    });
    expect(created.installCommand).toBe(`curl -fsSL ${t.url}/edge/install.sh | sudo sh -s -- --claim ${created.code}`);
    expect(created.certificateFingerprint).toBeNull();

    // Typed sloppily (lower case, spaces) it still works; the answer carries where to connect.
    const typed = created.code.toLowerCase().replace("-", " ");
    const ok = await claim(t, typed);
    expect(ok.status).toBe(200);
    const identity = (await ok.json()) as EdgeIdentity;
    expect(identity).toMatchObject({ edgeId: "pi-7", siteId: "site-1", grpcUrl: `127.0.0.1:${t.cloud.ports.grpc}` });
    expect(identity.token.length).toBeGreaterThanOrEqual(32);

    const again = await claim(t, created.code);
    expect(again.status).toBe(410);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("CLAIM_USED");

    // The claimed edge is in the fleet and authenticates over gRPC with the token it was given.
    const edges = (await (await t.api("/api/edges", admin)).json()) as { edges: { id: string; siteId: string; online: boolean }[] };
    expect(edges.edges.find((e) => e.id === "pi-7")).toMatchObject({ siteId: "site-1", online: false });
    const link = new EdgeLink(t.grpcAddress);
    link.hello("pi-7", identity.token);
    await link.next("welcome");
    const claims = async () => ((await (await t!.api("/api/provisioning/claims", admin)).json()) as { claims: EdgeClaim[] }).claims;
    await expect.poll(async () => (await claims())[0]?.state).toBe("online");
    link.close();

    // A second code for a known edge is refused.
    expect((await createClaim(t, admin, { siteId: "site-1", edgeId: "pi-7" })).status).toBe(409);
    // Every attempt is audited, good and bad, with the client address.
    const audit = (await (await t.api("/api/audit?action=edge.claim", admin)).json()) as {
      entries: { detail: { result: string; client: string } }[];
    };
    expect(audit.entries.map((e) => e.detail.result).sort()).toEqual(["CLAIM_USED", "claimed"]);
  });

  it("refuses unknown, malformed and expired codes clearly, and rate-limits failed attempts per client", async () => {
    t = await startTestCloud();
    const admin = await t.login("admin");
    const bad = await createClaim(t, admin, { siteId: "nowhere", edgeId: "bad id!" });
    expect(bad.status).toBe(400);
    const problems = ((await bad.json()) as { error: { problems: { path: string }[] } }).error.problems.map((p) => p.path);
    expect(problems).toEqual(["edgeId"]);
    expect((await createClaim(t, admin, { siteId: "nowhere", edgeId: "pi-1" })).status).toBe(400);

    expect(((await (await claim(t, "not-a-code")).json()) as { error: { code: string } }).error.code).toBe("CLAIM_INVALID");
    expect((await t.api("/api/edge/claim", undefined, { method: "POST", body: "{}" })).status).toBe(400);
    const unknown = await claim(t, "ABCDE-23456");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/unknown claim code/);

    // A code that expired: issued with a 1-minute life, then its expiry moved into the past.
    const created = (await (await createClaim(t, admin, { siteId: "site-2", edgeId: "pi-2", ttlMinutes: 1 })).json()) as CreatedClaim;
    const db = await import("better-sqlite3");
    const file = new db.default(join(t.config.data_dir, "cloud.db"));
    file.prepare("update edge_claims set expires_at = ? where id = ?").run(Date.now() - 1, created.claim.id);
    file.close();
    const expired = await claim(t, created.code);
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("CLAIM_EXPIRED");

    // 10 failures per client in 15 minutes; then even a good code waits.
    const good = (await (await createClaim(t, admin, { siteId: "site-2", edgeId: "pi-3" })).json()) as CreatedClaim;
    for (let i = 0; i < 7; i++) expect((await claim(t, "ZZZZZ-ZZZZZ")).status).toBe(404);
    const limited = await claim(t, good.code);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const audit = (await (await t.api("/api/audit?action=edge.claim&limit=100", admin)).json()) as {
      entries: { detail: { result: string } }[];
    };
    expect(audit.entries.filter((e) => e.detail.result === "rate-limited")).toHaveLength(1);
  });

  it("keeps claimed edges across a cloud restart", async () => {
    t = await startTestCloud();
    const admin = await t.login("admin");
    const created = (await (await createClaim(t, admin, { siteId: "site-1", edgeId: "pi-9" })).json()) as CreatedClaim;
    const identity = (await (await claim(t, created.code)).json()) as EdgeIdentity;
    const dir = t.config.data_dir;
    await t.cloud.stop();
    t = await startTestCloud({ data_dir: dir });
    const link = new EdgeLink(t.grpcAddress);
    link.hello("pi-9", identity.token);
    expect((await link.next("welcome")).$case).toBe("welcome");
    link.close();
  });

  it("serves the installer with its own URL and the packages with their SHA-256; nothing outside the package names", async () => {
    t = await startTestCloud();
    expect((await fetch(`${t.url}/edge/install.sh`)).status).toBe(404);
    const dir = t.config.provisioning.packages_dir ?? "";
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "install.sh"), 'CLOUD="@BV_CLOUD_URL@"\n');
    writeFileSync(join(dir, "bv-edge_0.1.0_arm64.deb"), "not really a deb");
    writeFileSync(join(dir, "secret.txt"), "no");
    const script = await fetch(`${t.url}/edge/install.sh`);
    expect(script.status).toBe(200);
    expect(await script.text()).toBe(`CLOUD="${t.url}"\n`);
    const index = await (await fetch(`${t.url}/edge/packages/`)).text();
    expect(index).toBe(`bv-edge_0.1.0_arm64.deb ${sha256("not really a deb")} 16\n`);
    const deb = await fetch(`${t.url}/edge/packages/bv-edge_0.1.0_arm64.deb`);
    expect(deb.status).toBe(200);
    expect(await deb.text()).toBe("not really a deb");
    expect((await fetch(`${t.url}/edge/packages/secret.txt`)).status).toBe(404);
    expect((await fetch(`${t.url}/edge/packages/..%2Fcloud.db`)).status).toBe(404);
  });
});

describe("normaliseClaimCode", () => {
  it("accepts any case, spaces and dashes; refuses look-alike letters and wrong lengths", () => {
    expect(normaliseClaimCode(" abcde-23456 ")).toBe("ABCDE23456");
    expect(normaliseClaimCode("ABCDE 23456")).toBe("ABCDE23456");
    expect(normaliseClaimCode("ABCD0-23456")).toBeUndefined();
    expect(normaliseClaimCode("ABCDE-2345")).toBeUndefined();
  });
});

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
