/**
 * Claiming an edge with real processes: an admin issues a claim code over HTTP, `bv-edge claim`
 * (a real process) exchanges it and writes the credentials file 0600, the agent started with it
 * connects over gRPC, the claim goes "claimed" → "online", and a device's QoS 1 readings land in
 * the cloud store. A used code gets a clear error and a non-zero exit. Against a cloud on its
 * development CA, the claim pins the HTTPS key the Add edge page shows (a wrong pin never sends the
 * code), and the claimed agent links over TLS pinned to EdgeSync's certificate with no TLS config of its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CreatedClaim, EdgeClaim } from "@bitvelocity/api";
import { hashSecret } from "@bitvelocity/common";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { publicKeyPin } from "../../cloud/src/platform/tls.js";
import { PASSWORDS, startTestCloud, type TestCloud } from "../../cloud/src/test-support.js";
import { freePorts } from "../pi/support.js";
import { https, tempDir, waitFor } from "./support.js";

const BIN = join(import.meta.dirname, "../../edge/bin/bv-edge.js");

/** Runs bv-edge to completion without blocking this process (the cloud under test lives here). */
function bvEdge(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("claiming an edge with bv-edge claim", () => {
  let cloud: TestCloud;
  let admin: string;
  let dir: string;
  let agent: ChildProcess | undefined;
  let log = "";

  beforeAll(async () => {
    cloud = await startTestCloud();
    admin = await cloud.login("admin");
    dir = tempDir("claim");
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    await cloud?.close();
  });

  const claims = async () => ((await (await cloud.api("/api/provisioning/claims", admin)).json()) as { claims: EdgeClaim[] }).claims;

  it("exchanges the code, writes the credentials 0600, and the agent comes online and delivers readings", async () => {
    const res = await cloud.api("/api/provisioning/claims", admin, {
      method: "POST",
      body: JSON.stringify({ siteId: "site-2", edgeId: "edge-claimed", name: "Dock Pi" }),
    });
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as CreatedClaim;
    const credentials = join(dir, "credentials.json");
    const claim = await bvEdge(["claim", "--cloud", cloud.url, "--code", code, "--credentials", credentials]);
    expect(claim.stderr).toBe("");
    expect(claim.stdout).toBe(`claimed: edge edge-claimed at site site-2; credentials in ${credentials}\n`);
    expect(claim.status).toBe(0);
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(credentials, "utf8"))).toMatchObject({
      edge_id: "edge-claimed",
      site_id: "site-2",
      uplink_url: `127.0.0.1:${cloud.cloud.ports.grpc}`,
      cloud_url: cloud.url,
    });
    expect((await claims())[0]?.state).toBe("claimed");

    const again = await bvEdge(["claim", "--cloud", cloud.url, "--code", code, "--credentials", join(dir, "x.json")]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe("bv-edge claim: CLAIM_USED: this claim code was already used: ask for a new one\n");

    const [mqttPort, httpPort] = await freePorts(2);
    const config = join(dir, "edge.yaml");
    writeFileSync(
      config,
      stringify({
        version: 1,
        edge_id: "unclaimed",
        data_dir: join(dir, "data"),
        mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
        http: { host: "127.0.0.1", port: httpPort },
        uplink: { kind: "grpc", backoff_max_ms: 1000 },
        devices: [{ id: "env-0042", type: "env-sensor", secret_hash: hashSecret("claim-device-secret") }],
      }),
    );
    agent = spawn(process.execPath, [BIN, "--config", config], {
      env: { ...process.env, BV_EDGE_CREDENTIALS: credentials, BV_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    agent.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    agent.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(
      `the claim to show online (agent log: ${log.slice(-1000)})`,
      async () => ((await claims())[0]?.state === "online" ? true : undefined),
      30_000,
    );

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: "env-0042",
      username: "env-0042",
      password: "claim-device-secret",
      reconnectPeriod: 0,
    });
    for (let i = 0; i < 5; i++)
      await client.publishAsync("bv/env-0042/telemetry", JSON.stringify({ values: { humidity: 40 + i } }), { qos: 1 });
    await client.endAsync();
    const stored = async () => {
      const r = await cloud.api("/api/devices/env-0042/readings", admin);
      return r.status === 200 ? ((await r.json()) as { readings: { edgeId: string; values: { humidity: number } }[] }).readings : [];
    };
    await waitFor("5 readings in the store", async () => ((await stored()).length === 5 ? true : undefined), 20_000);
    const readings = await stored();
    expect(readings.map((r) => r.values.humidity).sort()).toEqual([40, 41, 42, 43, 44]);
    expect(new Set(readings.map((r) => r.edgeId))).toEqual(new Set(["edge-claimed"]));
  });

  it("refuses to start an unclaimed edge with the command that fixes it", async () => {
    const res = await bvEdge(["--config", join(dir, "edge.yaml"), "--credentials", join(dir, "missing.json")]);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("this edge is not claimed yet; run: bv-edge claim --cloud URL --code CODE");
  });
});

describe("claiming an edge from a cloud on its development CA", () => {
  let cloud: TestCloud;
  let dir: string;
  let agent: ChildProcess | undefined;
  let log = "";

  beforeAll(async () => {
    cloud = await startTestCloud({ "http.insecure": false, "grpc.insecure": false });
    dir = tempDir("claim-tls");
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    await cloud?.close();
  });

  it("pins the HTTPS key to claim, refuses a wrong pin before sending the code, and links over pinned TLS", {
    timeout: 60_000,
  }, async () => {
    const tlsDir = join(cloud.config.data_dir, "tls");
    const ca = readFileSync(join(tlsDir, "ca.pem"));
    const base = `https://127.0.0.1:${cloud.cloud.ports.http}`;
    const login = await https(`${base}/api/auth/login`, ca, { method: "POST", body: { username: "admin", password: PASSWORDS.admin } });
    const session =
      ([] as string[])
        .concat(login.headers["set-cookie"] ?? [])
        .find((c) => c.startsWith("bv_session="))
        ?.split(";")[0] ?? "";
    const created = await https(`${base}/api/provisioning/claims`, ca, {
      method: "POST",
      cookie: session,
      body: { siteId: "site-2", edgeId: "edge-tls", name: "Cabinet Pi" },
    });
    expect(created.status).toBe(201);
    const claim = JSON.parse(created.body) as CreatedClaim;
    const pin = publicKeyPin(readFileSync(join(tlsDir, "server.pem")));
    expect(claim.installCommand).toBe(
      `curl -fsSLk --pinnedpubkey '${pin}' ${base}/edge/install.sh | sudo sh -s -- --claim ${claim.code} --pin '${pin}'`,
    );

    // Without trust the claim cannot even connect; with a wrong pin the code is never sent (it stays usable).
    const credentials = join(dir, "credentials.json");
    const untrusted = await bvEdge(["claim", "--cloud", base, "--code", claim.code, "--credentials", credentials]);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/^bv-edge claim: CLAIM_UNREACHABLE: cannot reach/);
    const wrongPin = `sha256//${Buffer.alloc(32, 7).toString("base64")}`;
    const wrong = await bvEdge(["claim", "--cloud", base, "--code", claim.code, "--credentials", credentials, "--pin", wrongPin]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(
      `CLAIM_PIN_MISMATCH: the cloud at 127.0.0.1:${cloud.cloud.ports.http} presented the key ${pin}, not the pinned ${wrongPin}`,
    );
    expect(existsSync(credentials)).toBe(false);
    const malformed = await bvEdge(["claim", "--cloud", base, "--code", claim.code, "--credentials", credentials, "--pin", "abc"]);
    expect(malformed.stderr).toContain("CLAIM_BAD_PIN");

    const ok = await bvEdge(["claim", "--cloud", base, "--code", claim.code, "--credentials", credentials, "--pin", pin]);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    const written = JSON.parse(readFileSync(credentials, "utf8")) as Record<string, unknown>;
    expect(written).toMatchObject({
      edge_id: "edge-tls",
      certificate_fingerprint: claim.certificateFingerprint,
      ca_file: join(dir, "cloud-ca.pem"),
    });
    expect(readFileSync(join(dir, "cloud-ca.pem"))).toEqual(ca);

    // The agent's YAML says nothing about TLS: the credentials carry the pin and the CA.
    const [mqttPort, httpPort] = await freePorts(2);
    const config = join(dir, "edge.yaml");
    writeFileSync(
      config,
      stringify({
        version: 1,
        edge_id: "unclaimed",
        data_dir: join(dir, "data"),
        mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
        http: { host: "127.0.0.1", port: httpPort },
        uplink: { kind: "grpc", backoff_max_ms: 1000 },
        devices: [{ id: "env-0043", type: "env-sensor", secret_hash: hashSecret("claim-device-secret") }],
      }),
    );
    agent = spawn(process.execPath, [BIN, "--config", config], {
      env: { ...process.env, BV_EDGE_CREDENTIALS: credentials, BV_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    agent.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    agent.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(
      `edge-tls online over TLS (agent log: ${log.slice(-1000)})`,
      async () => {
        const res = await https(`${base}/api/edges/edge-tls`, ca, { cookie: session });
        return res.status === 200 && (JSON.parse(res.body) as { edge: { online: boolean } }).edge.online ? true : undefined;
      },
      30_000,
    );
    expect(log).not.toMatch(/insecure/);
  });
});
