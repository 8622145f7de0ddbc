/** The program: bv-cloud as a child process (compiled dist/bin.js), and start-up failures. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashSecret, isBvError, silentLogger } from "@bitvelocity/common";
import { afterAll, describe, expect, it } from "vitest";
import { startCloud } from "./main.js";
import { loadCloudConfig } from "./platform/config.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bv-cloud-main-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: string[]; err: string[]; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BV_LOG_LEVEL: "info", ...env }, stdio: "pipe" });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.on("data", (b: Buffer) => out.push(...b.toString().split("\n").filter(Boolean)));
  child.stderr?.on("data", (b: Buffer) => err.push(b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, out, err, exit };
}

async function until(check: () => boolean, ms = 25_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("bv-cloud", () => {
  it("prints usage for --help", async () => {
    const p = run(["--help"]);
    expect(await p.exit).toBe(0);
    expect(p.out.join("\n")).toMatch(/usage: bv-cloud/);
  });

  it("starts on port 0, logs both listeners, prints a generated admin password once, serves, and stops on SIGTERM", async () => {
    const config = join(dir, "cloud.yaml");
    writeFileSync(
      config,
      "version: 1\ndata_dir: ./data\nhttp: { host: 127.0.0.1, port: 0, insecure: true }\ngrpc: { host: 127.0.0.1, port: 0 }\n",
    );
    const p = run(["--config", config]);
    await until(() => p.out.filter((l) => l.includes('"listening"')).length === 2);
    const ports = Object.fromEntries(
      p.out
        .map((l) => JSON.parse(l) as { msg: string; listener?: string; port?: number })
        .filter((l) => l.msg === "listening")
        .map((l) => [l.listener, l.port]),
    );
    expect(ports.http).toBeGreaterThan(0);
    expect(ports.grpc).toBeGreaterThan(0);
    const stderr = p.err.join("");
    const password = /created admin user "admin" with password (\S+)/.exec(stderr)?.[1];
    expect(password).toBeDefined();
    const login = await fetch(`http://127.0.0.1:${ports.http}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password }),
    });
    expect(login.status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
    // A restart does not print a new password: the admin exists.
    const again = run(["--config", config]);
    await until(() => again.out.filter((l) => l.includes('"listening"')).length === 2);
    again.child.kill("SIGINT");
    expect(await again.exit).toBe(0);
    expect(again.err.join("")).not.toMatch(/created admin user/);
  }, 90_000);

  it("exits 1 listing every config problem", async () => {
    const config = join(dir, "bad.yaml");
    writeFileSync(config, "version: 1\nhttp: { port: -1 }\nlive: { throttle_ms: 0 }\n");
    const p = run(["--config", config]);
    expect(await p.exit).toBe(1);
    const text = p.err.join("");
    expect(text).toMatch(/http\.port/);
    expect(text).toMatch(/live\.throttle_ms/);
  });
});

describe("startCloud", () => {
  function occupy(): Promise<{ server: Server; port: number }> {
    return new Promise((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        resolve({ server, port: (server.address() as { port: number }).port });
      });
    });
  }

  it.each(["http", "grpc"] as const)("fails with PORT_IN_USE naming the %s port and how to change it", async (listener) => {
    const { server, port } = await occupy();
    const data = mkdtempSync(join(dir, "busy-"));
    const config = loadCloudConfig(
      undefined,
      {},
      {
        data_dir: data,
        "http.host": "127.0.0.1",
        "http.port": listener === "http" ? port : 0,
        "grpc.host": "127.0.0.1",
        "grpc.port": listener === "grpc" ? port : 0,
        "admin.password": "a-long-password",
        sites: [{ id: "s", name: "S" }],
        edges: [{ id: "e", site_id: "s", token_hash: hashSecret("t") }],
      },
    );
    try {
      const error = await startCloud(config, { logger: silentLogger(), processMetrics: false }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isBvError(error, "PORT_IN_USE")).toBe(true);
      expect((error as Error).message).toContain(String(port));
      expect((error as Error).message).toContain(listener === "http" ? "BV_HTTP_PORT" : "BV_GRPC_PORT");
    } finally {
      server.close();
    }
  });
});
