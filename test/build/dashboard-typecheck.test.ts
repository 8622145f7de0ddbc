/**
 * The build type-checks the dashboard: `npm run build` runs the cloud's build, which starts with
 * `tsc -p web --noEmit`, and that check fails on a type error in cloud/web. Proven on a copy of
 * cloud/web with one error injected (the real tree is never touched).
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function scripts(pkg: string): Promise<Record<string, string>> {
  const json: unknown = JSON.parse(await readFile(join(root, pkg), "utf8"));
  const s = typeof json === "object" && json !== null && "scripts" in json ? json.scripts : undefined;
  return typeof s === "object" && s !== null ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])) : {};
}

/** Copies cloud/web next to a link to the repository's node_modules, so imports resolve as in the tree. */
async function copyOfWeb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bv-web-check-"));
  dirs.push(dir);
  await cp(join(root, "cloud/web/src"), join(dir, "web/src"), { recursive: true });
  await cp(join(root, "cloud/web/tsconfig.json"), join(dir, "web/tsconfig.json"));
  await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "web");
}

async function typecheck(web: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [tsc, "-p", web, "--noEmit", "--pretty", "false"]);
    return { code: 0, output: stdout };
  } catch (err) {
    // execFile rejects with the exit code and the captured output on the error.
    const code = err instanceof Error && "code" in err && typeof err.code === "number" ? err.code : 1;
    const output = err instanceof Error && "stdout" in err && typeof err.stdout === "string" ? err.stdout : "";
    return { code, output };
  }
}

describe("npm run build", () => {
  it("runs the dashboard type check before bundling it", async () => {
    const rootScripts = await scripts("package.json");
    expect(rootScripts.build).toContain("npm run build -w @bitvelocity/cloud");
    const cloudScripts = await scripts("cloud/package.json");
    expect(cloudScripts.build).toMatch(/^tsc -p web --noEmit && vite build /);
  });

  it("fails on a type error in cloud/web, and passes without it", async () => {
    const web = await copyOfWeb();
    const main = join(web, "src/main.ts");
    const source = await readFile(main, "utf8");
    await writeFile(main, `${source}\nexport const broken: number = "not a number";\n`);
    const bad = await typecheck(web);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/src\/main\.ts\(\d+,\d+\): error TS2322/);
    await writeFile(main, source);
    const good = await typecheck(web);
    expect(good.output).toBe("");
    expect(good.code).toBe(0);
  }, 120_000);
});
