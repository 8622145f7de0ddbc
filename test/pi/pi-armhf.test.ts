/**
 * The armhf package (ARMv7: Pi 2/3/4/Zero 2 on a 32-bit OS) builds and its agent runs under
 * emulation: dpkg -i in an armhf Debian 13 root filesystem, the agent as bv-edge with no cloud
 * reachable, a device's QoS 1 reading committed to the outbox (the cross-compiled better-sqlite3
 * works), then purge. Runs when BV_PI_TEST=1, like the arm64 job.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashSecret } from "@bitvelocity/common";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { tempDir, waitFor } from "../e2e/support.js";
import { buildPackage, Chroot, freePorts, missingForPi } from "./support.js";

const enabled = process.env.BV_PI_TEST === "1";
const missing = enabled ? missingForPi("armhf") : "BV_PI_TEST=1 (the ARM job is its own CI step)";
if (missing && enabled) throw new Error(`the ARM job needs ${missing}`);
if (missing) console.warn(`skipping the armhf Pi smoke: needs ${missing}`);
const version = JSON.parse(readFileSync(join(import.meta.dirname, "../../edge/package.json"), "utf8")).version as string;

describe.skipIf(missing)("bv-edge on an emulated armhf Pi (smoke)", () => {
  let pi: Chroot;
  let pkg: string;
  const out = tempDir("pi-armhf");
  let agent: ChildProcess | undefined;

  beforeAll(() => {
    pkg = buildPackage("armhf", version, out);
    pi = new Chroot("armhf");
  }, 30 * 60_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    pi?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it("installs, runs as bv-edge, commits a QoS 1 reading to its outbox, and purges", { timeout: 15 * 60_000 }, async () => {
    writeFileSync(pi.path("/tmp/bv-edge.deb"), readFileSync(pkg));
    await pi.run(["dpkg", "-i", "/tmp/bv-edge.deb"]);
    const [mqttPort = 0, httpPort = 0] = await freePorts(2);
    const config = parse(pi.read("/etc/bv-edge/edge.yaml")) as Record<string, unknown>;
    Object.assign(config, {
      mqtt: { host: "127.0.0.1", port: mqttPort, ws_port: null },
      http: { host: "127.0.0.1", port: httpPort },
      devices: [{ id: "env-0001", type: "env-sensor", secret_hash: hashSecret("armhf-secret") }],
    });
    writeFileSync(pi.path("/etc/bv-edge/edge.yaml"), stringify(config));
    // Claimed against a cloud that is not there: the agent buffers.
    const credentials = {
      version: 1,
      edge_id: "pi-armhf",
      site_id: "site-1",
      uplink_url: "127.0.0.1:1",
      token: "not-used-here",
      cloud_url: "http://127.0.0.1:1",
      certificate_fingerprint: null,
      claimed_at: new Date().toISOString(),
    };
    writeFileSync(pi.path("/etc/bv-edge/credentials.json"), JSON.stringify(credentials), { mode: 0o600 });
    await pi.run(["chown", "bv-edge:bv-edge", "/etc/bv-edge/credentials.json"]);

    let log = "";
    agent = pi.spawnAs("bv-edge", "bv-edge,dialout", [
      "/usr/bin/env",
      "BV_EDGE_CREDENTIALS=/etc/bv-edge/credentials.json",
      "/usr/bin/bv-edge",
      "--config",
      "/etc/bv-edge/edge.yaml",
    ]);
    agent.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    agent.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(
      "the agent's /healthz",
      async () => ((await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status ? true : undefined),
      5 * 60_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nagent log:\n${log.slice(-3000)}`);
    });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: "env-0001",
      username: "env-0001",
      password: "armhf-secret",
      reconnectPeriod: 0,
      connectTimeout: 60_000,
    });
    await client.publishAsync("bv/env-0001/telemetry", JSON.stringify({ values: { temperature: 21 } }), { qos: 1 });
    await client.endAsync();
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^bv_edge_outbox_readings\{edge_id="pi-armhf"\} 1$/m);

    const exited = new Promise((r) => agent?.once("exit", r));
    agent.kill("SIGTERM");
    await exited;
    await pi.run(["dpkg", "--purge", "bv-edge"]);
    for (const path of ["/usr/lib/bv-edge", "/etc/bv-edge", "/var/lib/bv-edge"]) expect(existsSync(pi.path(path))).toBe(false);
  });
});
