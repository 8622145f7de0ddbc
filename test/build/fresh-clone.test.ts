/**
 * The README's commands work from a fresh clone. npm links a workspace's bins at install time,
 * before `npm run build`; a bin pointing into dist/ (gitignored) is then missing and npm links
 * nothing (`npx bv-cloud` → E404). So each bin is a committed shim that imports ../dist/bin.js.
 *
 * Kept cheap (no second `npm ci` and build): a git clone of this repository shows what a
 * newcomer gets; the clone's shims are run before the build (a clear "run npm run build") and
 * after it, with the clone's dist/ and node_modules pointing at this tree's, for every `npx`
 * command in the README (`--help`). The install this test runs in shows npm links the shims.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const rootPackage = readJson(join(root, "package.json"));
const workspaces = stringList(rootPackage.workspaces);

function readJson(file: string): Record<string, unknown> {
  const value: unknown = JSON.parse(readFileSync(file, "utf8"));
  return typeof value === "object" && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** bin name → [workspace, target] over every workspace. */
const bins = new Map<string, { workspace: string; target: string }>();
for (const ws of workspaces) {
  for (const [name, target] of Object.entries(stringMap(readJson(join(root, ws, "package.json")).bin)))
    bins.set(name, { workspace: ws, target });
}

/** The shell lines of the README's code blocks, split at `&&` and ` / `. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .flatMap((line) => line.split(/\s+&&\s+|\s+\/\s+/))
    .filter((c) => c !== "");
}

async function node(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const code = err instanceof Error && "code" in err && typeof err.code === "number" ? err.code : 1;
    const stdout = err instanceof Error && "stdout" in err && typeof err.stdout === "string" ? err.stdout : "";
    const stderr = err instanceof Error && "stderr" in err && typeof err.stderr === "string" ? err.stderr : "";
    return { code, out: stdout + stderr };
  }
}

let dir = "";
let clone = "";
const isGit = existsSync(join(root, ".git"));

beforeAll(async () => {
  if (!isGit) return;
  dir = await mkdtemp(join(tmpdir(), "bv-clone-"));
  clone = join(dir, "repo");
  await run("git", ["clone", "--quiet", "--no-checkout", root, clone]);
  // The clone shows the committed tree of the commit under test (HEAD), whatever branch is checked out.
  const { stdout: head } = await run("git", ["-C", root, "rev-parse", "HEAD"]);
  await run("git", ["-C", clone, "checkout", "--quiet", head.trim()]);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!isGit)("a fresh clone", () => {
  it("has every workspace bin as a committed, executable file outside dist/", () => {
    expect([...bins.keys()].sort()).toEqual(["bv-cloud", "bv-edge", "bv-sim"]);
    for (const [name, { workspace, target }] of bins) {
      expect(target, name).not.toMatch(/^(\.\/)?dist\//);
      const file = join(clone, workspace, target);
      expect(existsSync(file), `${name} → ${workspace}/${target} in the clone`).toBe(true);
      expect(statSync(file).mode & 0o111, `${name} is executable`).not.toBe(0);
    }
  });

  it("says to build first when a bin runs before npm run build", async () => {
    const { workspace, target } = bins.get("bv-cloud") ?? { workspace: "", target: "" };
    const res = await node([join(clone, workspace, target), "--help"]);
    expect(res.code).toBe(1);
    expect(res.out).toContain("run `npm run build`");
  });

  it("runs every npx command of the README (--help) once built, and its files exist", async () => {
    for (const ws of workspaces) await symlink(join(root, ws, "dist"), join(clone, ws, "dist"), "dir");
    await symlink(join(root, "node_modules"), join(clone, "node_modules"), "dir");
    const npx = readmeCommands().filter((c) => c.startsWith("npx "));
    expect(npx.length).toBeGreaterThanOrEqual(5);
    for (const command of npx) {
      const [, name = "", ...args] = command.split(/\s+/);
      const bin = bins.get(name);
      expect(bin, `${command}: ${name} is a workspace bin`).toBeDefined();
      if (!bin) continue;
      const sub = args[0] !== undefined && !args[0].startsWith("-") ? [args[0]] : [];
      const res = await node([join(clone, bin.workspace, bin.target), ...sub, "--help"]);
      expect(res.code, `${command} --help: ${res.out}`).toBe(0);
      expect(res.out, command).toMatch(/usage/i);
      for (let i = 0; i < args.length; i++) {
        // Inputs must be in the clone (outputs such as --out devices.yaml are created by the command).
        if (/\.ya?ml$/.test(args[i] ?? "") && args[i - 1] !== "--out")
          expect(existsSync(join(clone, args[i] ?? "")), `${command}: ${args[i]}`).toBe(true);
      }
    }
  }, 120_000);

  it("has every npm script the README names", () => {
    const scripts = stringMap(rootPackage.scripts);
    const named = readmeCommands()
      .filter((c) => c.startsWith("npm "))
      .map((c) => c.split(/\s+/))
      .map(([, verb = "", script = ""]) => (verb === "run" ? script : verb));
    expect(named.length).toBeGreaterThanOrEqual(3);
    for (const s of named) if (!["install", "ci"].includes(s)) expect(scripts, `npm ${s}`).toHaveProperty(s);
  });
});

describe("this install", () => {
  it("linked each bin to its committed shim", () => {
    for (const [name, { workspace, target }] of bins) {
      const link = join(root, "node_modules/.bin", name);
      expect(existsSync(link), `node_modules/.bin/${name}`).toBe(true);
      expect(realpathSync(link)).toBe(realpathSync(join(root, workspace, target)));
    }
  });
});
