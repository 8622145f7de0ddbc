/**
 * The ARM job (edge/deploy/README.md): build the arm64 package, install it with dpkg in an arm64
 * Debian 13 root filesystem under qemu (maintainer scripts run), claim the edge against a cloud
 * on this machine, run the installed agent as its service user, publish QoS 1 telemetry as a
 * device and find the readings in the cloud's store; upgrade to a newer package while readings
 * wait in the outbox (none lost, the site's config kept); purge. Also measures cold start and RSS
 * under emulation. Runs when BV_PI_TEST=1 (its own CI step, ~10 min cold, less with the caches).
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CreatedClaim, EdgeClaim } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { tempDir, waitFor } from "../e2e/support.js";
import { buildPackage, Chroot, freePorts, missingForPi, rssKb, TcpGate } from "./support.js";

const enabled = process.env.BV_PI_TEST === "1";
const missing = enabled ? missingForPi("arm64") : "BV_PI_TEST=1 (the ARM job is its own CI step)";
if (missing && enabled) throw new Error(`the ARM job needs ${missing}`);
if (missing) console.warn(`skipping the arm64 Pi job: needs ${missing}`);

/** Everything under qemu on a shared 2-core machine is slow: minutes, not seconds. */
const STEP = 8 * 60_000;
/**
 * minbase has no curl (a Pi running the one-liner has): a stand-in for `curl -fsSL [-o FILE] URL`
 * on the root filesystem's own Node, so install.sh runs unchanged.
 */
const CURL_STAND_IN = `#!/usr/bin/node
const args = process.argv.slice(2);
const out = args.includes("-o") ? args[args.indexOf("-o") + 1] : undefined;
const url = args.filter((a, i) => !a.startsWith("-") && args[i - 1] !== "-o")[0];
fetch(url).then(async (res) => {
  if (!res.ok) { console.error("curl: (22) HTTP " + res.status); process.exit(22); }
  const body = Buffer.from(await res.arrayBuffer());
  if (out) require("node:fs").writeFileSync(out, body); else process.stdout.write(body);
});
`;
const DEVICE = { id: "env-0001", secret: "pi-device-secret-1" };
const edgeVersion = JSON.parse(readFileSync(join(import.meta.dirname, "../../edge/package.json"), "utf8")).version as string;
const V1 = edgeVersion;
const V2 = `${edgeVersion}+ci2`;

describe.skipIf(missing)("bv-edge on an emulated arm64 Pi", () => {
  let out: string;
  let pkg1: string;
  let pi: Chroot;
  let cloud: TestCloud;
  let admin: string;
  let gate: TcpGate;
  let agent: ChildProcess | undefined;
  let agentLog = "";
  let ports: { mqtt: number; http: number };
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    out = tempDir("pi-debs");
    let t = Date.now();
    pkg1 = buildPackage("arm64", V1, out);
    buildPackage("arm64", V2, out); // the upgrade: the cloud serves it to install.sh from this folder
    measured.packageSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    pi = new Chroot("arm64");
    measured.rootfsSeconds = (Date.now() - t) / 1000;
    gate = new TcpGate(() => cloud.cloud.ports.grpc);
    const grpcVia = await gate.start();
    cloud = await startTestCloud({ "provisioning.grpc_url": `127.0.0.1:${grpcVia}`, "provisioning.packages_dir": out });
    admin = await cloud.login("admin");
    const [mqttPort = 0, httpPort = 0] = await freePorts(2);
    ports = { mqtt: mqttPort, http: httpPort };
  }, 30 * 60_000);

  afterAll(async () => {
    await stopAgent();
    await cloud?.close();
    await gate?.stop();
    pi?.dispose();
    if (out) rmSync(out, { recursive: true, force: true });
    if (Object.keys(measured).length > 0) console.log(`arm64 Pi job measurements: ${JSON.stringify(measured)}`);
  });

  function startAgent(): ChildProcess {
    agentLog = "";
    const child = pi.spawnAs("bv-edge", "bv-edge,dialout", [
      "/usr/bin/env",
      "BV_EDGE_CREDENTIALS=/etc/bv-edge/credentials.json",
      "/usr/bin/bv-edge",
      "--config",
      "/etc/bv-edge/edge.yaml",
    ]);
    child.stdout?.on("data", (d: Buffer) => (agentLog += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (agentLog += d.toString()));
    agent = child;
    return child;
  }

  async function stopAgent(): Promise<void> {
    const child = agent;
    agent = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }

  async function healthy(): Promise<void> {
    await waitFor(
      `the agent's /healthz (log: ${agentLog.slice(-2000)})`,
      async () => (await fetch(`http://127.0.0.1:${ports.http}/healthz`).catch(() => undefined))?.status === 200 || undefined,
      120_000,
      250,
    );
  }

  async function publish(from: number, count: number): Promise<void> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, {
      clientId: DEVICE.id,
      username: DEVICE.id,
      password: DEVICE.secret,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
    });
    for (let i = from; i < from + count; i++) {
      // QoS 1: the PUBACK means the reading is committed in the outbox on the Pi.
      await client.publishAsync(`bv/${DEVICE.id}/telemetry`, JSON.stringify({ values: { temperature: i } }), { qos: 1 });
    }
    await client.endAsync();
  }

  async function storedTemperatures(): Promise<number[]> {
    const res = await cloud.api(`/api/devices/${DEVICE.id}/readings?limit=10000`, admin);
    if (res.status !== 200) return [];
    const body = (await res.json()) as { readings: { values: { temperature?: number } }[] };
    return body.readings.map((r) => Number(r.values.temperature)).sort((a, b) => a - b);
  }

  it(
    "installs with dpkg under emulation: service user in dialout, config as a conffile, data folder",
    async () => {
      const t = Date.now();
      writeFileSync(pi.path(`/tmp/${V1}.deb`), readFileSync(pkg1));
      await pi.run(["dpkg", "-i", `/tmp/${V1}.deb`]);
      measured.dpkgInstallSeconds = (Date.now() - t) / 1000;
      expect((await pi.run(["id", "-nG", "bv-edge"])).trim().split(" ").sort()).toEqual(["bv-edge", "dialout"]);
      expect(await pi.run(["dpkg-query", "-s", "bv-edge"])).toMatch(/^Conffiles:\n \/etc\/bv-edge\/edge\.yaml /m);
      expect(statSync(pi.path("/var/lib/bv-edge")).mode & 0o777).toBe(0o750);
      expect((await pi.run(["stat", "-c", "%U %a", "/var/lib/bv-edge"])).trim()).toBe("bv-edge 750");
      expect(existsSync(pi.path("/usr/lib/systemd/system/bv-edge.service"))).toBe(true);
      // No dev tools and no addon sources in the package.
      expect(existsSync(pi.path("/usr/lib/bv-edge/node_modules/vitest"))).toBe(false);
      expect(existsSync(pi.path("/usr/lib/bv-edge/node_modules/better-sqlite3/deps"))).toBe(false);
    },
    STEP,
  );

  it(
    "claims the edge: credentials written 0600 for the service user (a used code: test/e2e/edge-claim.test.ts)",
    async () => {
      const res = await cloud.api("/api/provisioning/claims", admin, {
        method: "POST",
        body: JSON.stringify({ siteId: "site-1", edgeId: "pi-arm64", name: "Emulated Pi" }),
      });
      const { code } = (await res.json()) as CreatedClaim;
      const said = await pi.run(["bv-edge", "claim", "--cloud", cloud.url, "--code", code]);
      expect(said).toContain("claimed: edge pi-arm64 at site site-1");
      expect((await pi.run(["stat", "-c", "%U %a", "/etc/bv-edge/credentials.json"])).trim()).toBe("bv-edge 600");
    },
    STEP,
  );

  it(
    "runs the installed agent as bv-edge; QoS 1 readings reach the cloud store; the claim shows online",
    async () => {
      // The site's edits to the conffile: ports free on this machine (the chroot shares its network), one device.
      const config = parse(pi.read("/etc/bv-edge/edge.yaml")) as Record<string, Record<string, unknown>>;
      config.mqtt = { ...config.mqtt, host: "127.0.0.1", port: ports.mqtt, ws_port: null };
      config.http = { ...config.http, host: "127.0.0.1", port: ports.http };
      config.uplink = { ...config.uplink, backoff_max_ms: 1000 };
      (config as Record<string, unknown>).devices = [{ id: DEVICE.id, type: "env-sensor", secret_hash: hashSecret(DEVICE.secret) }];
      writeFileSync(pi.path("/etc/bv-edge/edge.yaml"), stringify(config));

      const t = Date.now();
      const child = startAgent();
      await healthy();
      measured.coldStartSeconds = (Date.now() - t) / 1000;

      await publish(0, 20);
      await waitFor(
        "20 readings in the cloud store",
        async () => ((await storedTemperatures()).length === 20 ? true : undefined),
        60_000,
        250,
      );
      expect(await storedTemperatures()).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const claims = async () => ((await (await cloud.api("/api/provisioning/claims", admin)).json()) as { claims: EdgeClaim[] }).claims;
      await waitFor("the claim to show online", async () => ((await claims())[0]?.state === "online" ? true : undefined), 30_000);
      measured.rssMb = Math.round((rssKb(child.pid ?? 0) ?? 0) / 1024);
    },
    STEP,
  );

  it(
    "upgrades with the one-line installer while readings wait in the outbox: none lost, the site's config kept",
    async () => {
      const siteConfig = pi.read("/etc/bv-edge/edge.yaml");
      gate.block(); // the cloud is unreachable: readings stay in the outbox
      await publish(20, 15);
      await stopAgent();
      expect(existsSync(pi.path("/var/lib/bv-edge/outbox.db"))).toBe(true);
      // The one-liner a site runs, against the cloud: it picks the newest arm64 package and upgrades.
      writeFileSync(pi.path("/usr/local/bin/curl"), CURL_STAND_IN, { mode: 0o755 });
      const t = Date.now();
      const said = await pi.run(["sh", "-c", `curl -fsSL ${cloud.url}/edge/install.sh | sh -s --`]);
      expect(said).toContain(`bv-edge: downloading bv-edge_${V2}_arm64.deb`);
      measured.installShUpgradeSeconds = (Date.now() - t) / 1000;
      expect((await pi.run(["dpkg-query", "-W", "bv-edge"])).trim()).toBe(`bv-edge\t${V2}`);
      expect(pi.read("/etc/bv-edge/edge.yaml")).toBe(siteConfig);

      startAgent();
      await healthy();
      gate.open();
      await waitFor(
        "all 35 readings in the cloud store",
        async () => ((await storedTemperatures()).length >= 35 ? true : undefined),
        90_000,
        250,
      );
      expect(await storedTemperatures()).toEqual(Array.from({ length: 35 }, (_, i) => i));
    },
    STEP,
  );

  it(
    "purge removes the program, the config, the credentials, the outbox and the user",
    async () => {
      await stopAgent();
      await pi.run(["dpkg", "--purge", "bv-edge"]);
      for (const path of ["/usr/lib/bv-edge", "/etc/bv-edge", "/var/lib/bv-edge", "/usr/bin/bv-edge"])
        expect(existsSync(pi.path(path))).toBe(false);
      await expect(pi.run(["getent", "passwd", "bv-edge"])).rejects.toThrow();
    },
    STEP,
  );
});
