/**
 * The updater against a real HTTP server and real dpkg-deb: a download cut in the middle resumes
 * with a Range request and installs; offers that do not check out are refused before or after the
 * download with nothing installed; a release on trial that is not welcomed within its deadline is
 * switched back, and the agent that starts next reports the rollback.
 */
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signRelease, silentLogger } from "@bitvelocity/common";
import type { ReleaseOffer, UpdateReport } from "@bitvelocity/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReleaseDir } from "./release-dir.js";
import { RESTART_EXIT_CODE, Updater, type UpdateSettings } from "./updater.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const PUBLIC = publicKey.export({ type: "spki", format: "pem" }).toString();

let work: string;
let deb: Buffer;
let server: Server;
let origin: string;
const requests: { range: string | undefined; auth: string | undefined }[] = [];
let cutFirst = true;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "bv-updater-"));
  const stage = join(work, "stage");
  mkdirSync(join(stage, "DEBIAN"), { recursive: true });
  mkdirSync(join(stage, "usr/lib/bv-edge/dist"), { recursive: true });
  writeFileSync(join(stage, "usr/lib/bv-edge/dist/bin.js"), `// agent 0.2.0\n${"x".repeat(50_000)}\n`);
  writeFileSync(
    join(stage, "DEBIAN/control"),
    "Package: bv-edge\nVersion: 0.2.0\nArchitecture: amd64\nMaintainer: t <t@e.x>\nDescription: t\n",
  );
  execFileSync("dpkg-deb", ["--root-owner-group", "-Znone", "--build", stage, join(work, "p.deb")], { stdio: "ignore" });
  deb = readFileSync(join(work, "p.deb"));
  server = createServer((req, res) => {
    requests.push({ range: req.headers.range, auth: req.headers.authorization });
    if (req.headers.authorization !== "Bearer tok") {
      res.writeHead(401).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m) {
      const from = Number(m[1]);
      res.writeHead(206, { "content-range": `bytes ${from}-${deb.length - 1}/${deb.length}`, "content-length": deb.length - from });
      res.end(deb.subarray(from));
      return;
    }
    res.writeHead(200, { "content-length": deb.length });
    if (cutFirst) {
      // The first download is cut in the middle (a flaky cellular link).
      cutFirst = false;
      res.write(deb.subarray(0, Math.floor(deb.length / 2)), () => res.destroy());
      return;
    }
    res.end(deb);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

function offerFor(bytes: Buffer, patch: Partial<ReleaseOffer> = {}): ReleaseOffer {
  const facts = { version: "0.2.0", arch: "amd64", size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  return { ...facts, url: "/edge/releases/r1/package", signature: signRelease(privateKey, facts), healthDeadlineS: 60, ...patch };
}

function harness(version: string, dir: string, settings: Partial<UpdateSettings> = {}) {
  const reports: UpdateReport[] = [];
  const restarts: string[] = [];
  let online = false;
  const updater = new Updater({
    settings: { releasesDir: dir, publicKeyPem: PUBLIC, cloudUrl: origin, edgeId: "edge-1", token: "tok", caFile: null, ...settings },
    agentVersion: version,
    arch: "amd64",
    logger: silentLogger(),
    post: (r) => {
      if (online) reports.push(r);
      return online;
    },
    restart: (reason) => restarts.push(reason),
    retryMs: 10,
  });
  return {
    updater,
    reports,
    restarts,
    connect() {
      online = true;
      updater.onSession();
    },
  };
}

describe("agent updater", () => {
  it("resumes a cut download with a Range request, installs beside the running agent and restarts into it", async () => {
    const dir = join(work, "resume");
    const h = harness("0.1.0", dir);
    h.connect();
    await h.updater.offer(offerFor(deb));
    expect(requests.filter((r) => r.range).map((r) => r.range)).toEqual([`bytes=${Math.floor(deb.length / 2)}-`]);
    expect(requests.every((r) => r.auth === "Bearer tok")).toBe(true);
    expect(readlinkSync(join(dir, "current"))).toBe("0.2.0");
    expect(existsSync(join(dir, "0.2.0/usr/lib/bv-edge/dist/bin.js"))).toBe(true);
    expect(new ReleaseDir(dir).trial()).toEqual({ version: "0.2.0", previous: "packaged", deadlineS: 60 });
    expect(h.reports.map((r) => r.state)).toEqual(["downloading", "installed"]);
    expect(h.restarts).toEqual(["switching to release 0.2.0"]);
    expect(RESTART_EXIT_CODE).toBe(75);

    // The new agent starts on trial; its first Welcome ends the trial and reports healthy.
    const next = harness("0.2.0", dir);
    next.updater.start();
    next.connect();
    expect(next.reports).toMatchObject([{ version: "0.2.0", state: "healthy", runningVersion: "0.2.0" }]);
    expect(new ReleaseDir(dir).trial()).toBeUndefined();
    next.updater.stop();
  });

  it("refuses offers that do not check out, and installs nothing", async () => {
    const cases: [string, Partial<ReleaseOffer>, Partial<UpdateSettings>, RegExp][] = [
      ["signature", { signature: Buffer.alloc(64, 1) }, {}, /bad signature/],
      ["arch", { arch: "arm64" }, {}, /the release is for arm64; this edge is amd64/],
      ["origin", { url: "https://evil.example/p.deb" }, {}, /not at the cloud this edge was claimed from/],
      ["no key", {}, { publicKeyPem: null }, /no release key/],
    ];
    for (const [name, patch, settings, reason] of cases) {
      const dir = join(work, `refuse-${name.replace(" ", "-")}`);
      const h = harness("0.1.0", dir, settings);
      h.connect();
      const before = requests.length;
      const offer = { ...offerFor(deb), ...patch };
      await h.updater.offer(offer);
      expect(
        h.reports.map((r) => r.state),
        name,
      ).toEqual(["refused"]);
      expect(h.reports[0]?.error, name).toMatch(reason);
      expect(requests.length, `${name}: nothing downloaded`).toBe(before);
      expect(existsSync(join(dir, "current")), name).toBe(false);
      // Offered again: the same answer, no second attempt.
      await h.updater.offer(offer);
      expect(
        h.reports.map((r) => r.state),
        name,
      ).toEqual(["refused", "refused"]);
    }
    // Signed, but the bytes served are not the ones signed: refused after the download, the part deleted.
    const dir = join(work, "refuse-sha");
    const h = harness("0.1.0", dir);
    h.connect();
    const other = Buffer.from(deb);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 1;
    await h.updater.offer(offerFor(other));
    expect(h.reports.map((r) => r.state)).toEqual(["downloading", "refused"]);
    expect(h.reports[1]?.error).toMatch(/not the one signed/);
    expect(existsSync(join(dir, ".download/0.2.0.deb.part"))).toBe(false);
    expect(existsSync(join(dir, "0.2.0"))).toBe(false);
  });

  it("answers failed when not started by the launcher", async () => {
    const h = harness("0.1.0", "", { releasesDir: undefined });
    h.connect();
    await h.updater.offer(offerFor(deb));
    expect(h.reports).toMatchObject([{ state: "failed", error: expect.stringMatching(/not started by the bv-edge launcher/) }]);
  });

  it("switches back when the new agent is not welcomed within the deadline; the next agent reports it", async () => {
    const dir = join(work, "deadline");
    const releases = new ReleaseDir(dir);
    mkdirSync(join(dir, "0.2.0/usr/lib/bv-edge/dist"), { recursive: true });
    mkdirSync(join(dir, "0.1.0/usr/lib/bv-edge/dist"), { recursive: true });
    releases.switchTo("0.2.0");
    releases.startTrial({ version: "0.2.0", previous: "0.1.0", deadlineS: 1 });

    const trial = harness("0.2.0", dir);
    trial.updater.start(); // never connects
    await expect.poll(() => trial.restarts, { timeout: 5000 }).toEqual(["the new agent did not reach the cloud within 1 s"]);
    expect(readlinkSync(join(dir, "current"))).toBe("0.1.0");
    expect(releases.trial()).toBeUndefined();

    const back = harness("0.1.0", dir);
    back.updater.start();
    back.connect();
    expect(back.reports).toMatchObject([
      { version: "0.2.0", state: "rolled-back", error: "the new agent did not reach the cloud within 1 s", runningVersion: "0.1.0" },
    ]);
    // Offered the same release again: reported again, not retried.
    await back.updater.offer(offerFor(deb));
    expect(back.reports.map((r) => r.state)).toEqual(["rolled-back", "rolled-back"]);
    expect(readlinkSync(join(dir, "current"))).toBe("0.1.0");
  });
});
