/**
 * Signed agent updates end to end, with real processes: a claimed agent run by the real launcher
 * under a supervisor that restarts it like systemd, a real cloud that publishes and signs releases
 * and offers them by rollout, and a device publishing QoS 1 readings the whole time.
 * - a signed release is downloaded, installed beside the packaged copy, restarted into and reported healthy;
 * - a release whose signature does not verify is refused and reported, nothing installed;
 * - a release that crashes at start is rolled back by the launcher and reported "rolled-back";
 * - every reading published before, during and after arrives in the cloud store exactly once.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CreatedClaim, EdgeUpdate, Release } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { freePorts } from "../pi/support.js";
import { buildRelease, Supervisor, writeLauncher } from "./agent-release.js";
import { tempDir, waitFor } from "./support.js";

const BIN = join(import.meta.dirname, "../../edge/bin/bv-edge.js");
const EDGE_ID = "edge-ota";

describe("agent updates: signed, staged, rolled back", () => {
  let cloud: TestCloud;
  let admin: string;
  let dir: string;
  let releases: string;
  let supervisor: Supervisor | undefined;
  let device: Publisher | undefined;
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    cloud = await startTestCloud({ "releases.health_deadline_s": 60 });
    admin = await cloud.login("admin");
    dir = tempDir("ota");
    releases = join(dir, "state/releases");
    const res = await cloud.api("/api/provisioning/claims", admin, {
      method: "POST",
      body: JSON.stringify({ siteId: "site-2", edgeId: EDGE_ID, name: "Cabinet Pi" }),
    });
    const { code } = (await res.json()) as CreatedClaim;
    const credentials = join(dir, "credentials.json");
    // Asynchronously: the cloud under test answers from this process.
    await promisify(execFile)(process.execPath, [BIN, "claim", "--cloud", cloud.url, "--code", code, "--credentials", credentials]);
    expect(JSON.parse(readFileSync(credentials, "utf8")).release_public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    const [mqttPort, httpPort] = await freePorts(2);
    const config = join(dir, "edge.yaml");
    writeFileSync(
      config,
      stringify({
        version: 1,
        edge_id: "unclaimed",
        data_dir: join(dir, "state"),
        mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
        http: { host: "127.0.0.1", port: httpPort },
        uplink: { kind: "grpc", backoff_initial_ms: 100, backoff_max_ms: 500 },
        devices: [{ id: "env-ota", type: "env-sensor", secret_hash: hashSecret("ota-device-secret") }],
      }),
    );
    const launcher = join(dir, "bv-edge");
    writeLauncher(launcher);
    supervisor = new Supervisor(launcher, ["--config", config], {
      ...process.env,
      BV_EDGE_CREDENTIALS: credentials,
      BV_EDGE_RELEASES_DIR: releases,
      BV_LOG_LEVEL: "warn",
    });
    supervisor.start();
    await waitFor(
      `${EDGE_ID} online (log: ${supervisor.log.slice(-800)})`,
      async () => (await update())?.runningVersion === "0.1.0",
      30_000,
    );
    device = new Publisher(mqttPort as number);
    device.start();
  }, 60_000);

  afterAll(async () => {
    if (Object.keys(measured).length > 0) console.log(`agent update measurements: ${JSON.stringify(measured)}`);
    await device?.stop();
    await supervisor?.stop();
    await cloud?.close();
  });

  async function update(): Promise<EdgeUpdate | undefined> {
    const res = await cloud.api("/api/edge-updates", admin);
    return ((await res.json()) as { edges: EdgeUpdate[] }).edges.find((e) => e.edgeId === EDGE_ID);
  }

  async function publish(deb: string, version: string): Promise<Release> {
    const res = await cloud.api(`/api/releases?version=${version}&arch=amd64&healthDeadlineS=60`, admin, {
      method: "POST",
      headers: { "content-type": "application/vnd.debian.binary-package" },
      body: new Uint8Array(readFileSync(deb)),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { release: Release }).release;
  }

  const rollout = (id: string, body: { sites: string[]; percent: number }) =>
    cloud.api(`/api/releases/${id}/rollout`, admin, { method: "POST", body: JSON.stringify(body) });

  it("installs a signed release beside the packaged agent, restarts into it and reports it healthy", async () => {
    await waitFor("readings before the update", () => (device!.acknowledged >= 10 ? true : undefined));
    const release = await publish(buildRelease(dir, "0.1.1"), "0.1.1");
    expect(release.size).toBeGreaterThan(0);
    // Staged: a site that is not this edge's selects nothing; its own site does.
    await rollout(release.id, { sites: ["site-1"], percent: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await update())?.runningVersion).toBe("0.1.0");
    const started = Date.now();
    expect((await (await rollout(release.id, { sites: ["site-1", "site-2"], percent: 0 })).json()).offered).toBe(1);
    await waitFor(
      `0.1.1 healthy (log: ${supervisor?.log.slice(-1500)})`,
      async () => {
        const u = await update();
        return u?.runningVersion === "0.1.1" && u.state === "healthy" ? u : undefined;
      },
      40_000,
    );
    measured.rolloutToHealthyMs = Date.now() - started;
    expect(supervisor?.exits).toContain(75);
    expect(readdirSync(releases)).toContain("0.1.1");
    const edge = (await (await cloud.api(`/api/edges/${EDGE_ID}`, admin)).json()) as { edge: { agentVersion: string } };
    expect(edge.edge.agentVersion).toBe("0.1.1");
  }, 60_000);

  it("refuses a release whose signature does not verify, and installs nothing", async () => {
    const release = await publish(buildRelease(dir, "0.1.2"), "0.1.2");
    // Tampered in the cloud's database: the signature no longer matches the manifest.
    const db = new Database(join(cloud.config.data_dir, "cloud.db"));
    const forged = Buffer.from(release.signature, "base64");
    forged[0] = (forged[0] ?? 0) ^ 0xff;
    db.prepare("UPDATE agent_releases SET signature = ? WHERE id = ?").run(forged.toString("base64"), release.id);
    db.close();
    await rollout(release.id, { sites: [], percent: 100 });
    const refused = await waitFor(
      "0.1.2 refused",
      async () => {
        const u = await update();
        return u?.version === "0.1.2" && u.state === "refused" ? u : undefined;
      },
      20_000,
    );
    expect(refused.error).toContain("bad signature");
    expect(refused.runningVersion).toBe("0.1.1");
    expect(readdirSync(releases)).not.toContain("0.1.2");
    expect(existsSync(join(releases, ".download/0.1.2.deb.part"))).toBe(false);
  }, 40_000);

  it("rolls back a release that crashes at start, and reports why", async () => {
    const exitsBefore = supervisor?.exits.length ?? 0;
    const release = await publish(buildRelease(dir, "0.1.3", { crash: true }), "0.1.3");
    const started = Date.now();
    await rollout(release.id, { sites: ["site-2"], percent: 0 });
    const rolled = await waitFor(
      `0.1.3 rolled back (log: ${supervisor?.log.slice(-1500)})`,
      async () => {
        const u = await update();
        return u?.version === "0.1.3" && u.state === "rolled-back" ? u : undefined;
      },
      40_000,
    );
    measured.rolloutToRolledBackMs = Date.now() - started;
    expect(rolled.error).toContain("crash loop");
    expect(rolled.runningVersion).toBe("0.1.1");
    // The new build exited (3) three times; then the launcher started 0.1.1 again.
    expect(supervisor?.exits.slice(exitsBefore).filter((c) => c === 3)).toHaveLength(3);
    expect(existsSync(join(releases, "trial"))).toBe(false);
    // Not offered again: the edge stays on 0.1.1.
    const list = (await (await cloud.api("/api/releases", admin)).json()) as { releases: Release[] };
    expect(list.releases.find((r) => r.version === "0.1.3")?.failed).toBe(1);
  }, 60_000);

  it("delivers every reading published before, during and after the updates exactly once", async () => {
    // And after: more readings through the agent the rollback restored.
    const after = device!.acknowledged;
    await waitFor("readings after the updates", () => (device!.acknowledged >= after + 20 ? true : undefined));
    const sent = await device!.stop();
    const stored = async () => {
      const res = await cloud.api(`/api/devices/env-ota/readings?limit=5000`, admin);
      return ((await res.json()) as { readings: { values: { co2: number } }[] }).readings.map((r) => r.values.co2);
    };
    const values = await waitFor(`${sent} readings stored`, async () => {
      const v = await stored();
      return v.length >= sent ? v : undefined;
    });
    measured.readingsDelivered = sent;
    expect(values.length).toBe(sent);
    expect(new Set(values).size).toBe(sent);
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i));
  }, 40_000);
});

/**
 * A device that publishes one QoS 1 reading every 50 ms, and after a lost connection resends the
 * reading it had no PUBACK for (same device time: the cloud recognises a resend it already has).
 */
class Publisher {
  private n = 0;
  private running = true;
  private loop: Promise<void> | undefined;
  private readonly base = Date.now();

  constructor(private readonly port: number) {}

  start(): void {
    this.loop = this.run();
  }

  get acknowledged(): number {
    return this.n;
  }

  /** Stops after the current reading is acknowledged; answers how many were acknowledged. */
  async stop(): Promise<number> {
    this.running = false;
    await this.loop;
    return this.n;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let client: mqtt.MqttClient | undefined;
      try {
        const connecting = mqtt.connect(`mqtt://127.0.0.1:${this.port}`, {
          clientId: "env-ota",
          username: "env-ota",
          password: "ota-device-secret",
          reconnectPeriod: 0,
          connectTimeout: 2000,
        });
        client = connecting;
        // A connection closed before CONNACK emits neither "connect" nor "error": time it out.
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            connecting.once("connect", () => resolve());
            connecting.once("error", reject);
          }),
          3000,
        );
        while (this.running) {
          const payload = JSON.stringify({ ts: this.base + this.n, values: { co2: this.n } });
          await withTimeout(client.publishAsync("bv/env-ota/telemetry", payload, { qos: 1 }), 3000);
          this.n++;
          await new Promise((r) => setTimeout(r, 50));
        }
        await client.endAsync();
      } catch {
        // The agent restarting (an update, a rollback): reconnect and resend the unacknowledged reading.
        client?.end(true);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no PUBACK")), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
