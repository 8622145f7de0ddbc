import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verifySecret } from "@bitvelocity/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The real CLI as built and shipped: the bundle (edge/bundle.mjs; `npm test` builds before it runs the tests).
const bin = resolve(import.meta.dirname, "../dist/bundle/bin.js");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bv-edge-bin-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

describe("bv-edge CLI", () => {
  it("hash-secret prints a hash that verifies the secret read from stdin", async () => {
    const out = await run(["hash-secret"], "my-device-secret\n");
    expect(out.code).toBe(0);
    expect(verifySecret("my-device-secret", out.stdout.trim())).toBe(true);
  });

  it("hash-secret refuses an empty stdin", async () => {
    const out = await run(["hash-secret"], "");
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/no secret given/);
  });

  it("prints usage with --help, and exits 1 listing every config problem", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/bv-edge hash-secret/);
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "edge_id: e\nmqtt: { port: -1 }\nwat: 1\n");
    const bad = await run(["--config", file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/mqtt\.port: /);
    expect(bad.stderr).toMatch(/uplink/);
    expect(bad.stderr).toMatch(/wat/);
  });

  it("runs the agent, logs one 'listening' line per listener, and stops on SIGTERM", async () => {
    const file = join(dir, "edge.yaml");
    writeFileSync(
      file,
      "version: 1\nedge_id: edge-cli\ndata_dir: ./data\nmqtt: { host: 127.0.0.1, port: 0, ws_port: 0 }\nhttp: { host: 127.0.0.1, port: 0 }\nuplink: { url: 127.0.0.1:1 }\n",
    );
    const child = spawn(process.execPath, [bin, "--config", file], { env: { PATH: process.env.PATH, BV_EDGE_TOKEN: "tok" } });
    const listeners = new Map<string, number>();
    let stdout = "";
    await new Promise<void>((done, fail) => {
      child.once("exit", (code) => fail(new Error(`exited early with ${code}`)));
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        for (const line of stdout.split("\n")) {
          if (!line.startsWith("{")) continue;
          const entry = JSON.parse(line) as { msg?: string; listener?: string; port?: number };
          if (entry.msg === "listening" && entry.listener && entry.port) listeners.set(entry.listener, entry.port);
        }
        if (listeners.size === 3) done();
      });
    });
    expect([...listeners.keys()].sort()).toEqual(["http", "mqtt", "ws"]);
    const health = await fetch(`http://127.0.0.1:${listeners.get("http")}/healthz`);
    expect(((await health.json()) as { edgeId: string }).edgeId).toBe("edge-cli");
    expect(stdout).not.toContain("tok");
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("the bundle", () => {
  it("starts with the shipped V8 flags and leaves native, lazy and shared modules to node_modules", () => {
    const dir = resolve(import.meta.dirname, "../dist/bundle");
    expect(readFileSync(bin, "utf8").split("\n")[0]).toBe("#!/usr/bin/env -S node --max-semi-space-size=8 --v8-pool-size=1");
    const code = readdirSync(dir)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n");
    // Imported by name at run time, not inlined.
    for (const name of ["better-sqlite3", "node-opcua-client", "kafkajs", "ws"]) expect(code).toMatch(new RegExp(`["']${name}["']`));
    // mqtt-packet's number cache is switched off by the broker on the copy aedes requires; an inlined
    // second copy (its writeToStream defines the switch) would keep its cache on for aedes.
    expect(code).not.toMatch(/defineProperty\([\w$]+,\s*["']cacheNumbers["']/);
    expect(code).not.toContain("Misspelled option"); // better-sqlite3's own code (lib/database.js)
  });
});
