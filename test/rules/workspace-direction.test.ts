/**
 * Workspaces point one way (DESIGN.md §4, ADR 001): proto and devices at the bottom, common above
 * devices (the edge configuration schema it holds names the catalog's device types); api
 * above them; the programs (edge, cloud, firmware-sim) and the dashboard (cloud/web) on top, with
 * api below cloud and the dashboard. Checked twice: what each package.json declares, and what the
 * code actually imports (package names and relative paths that climb into another workspace).
 * The only upward exception: the edge's tests drive the simulator (a devDependency, imported by
 * test files only; the edge's build does not reference it).
 */
import { readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importsOf, isTestFile, tsFiles } from "./scan.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Unit → the units it may depend on. A unit is a workspace, or the dashboard inside cloud. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  proto: [],
  common: ["devices"],
  devices: [],
  api: ["proto", "common", "devices"],
  edge: ["proto", "common", "devices"],
  "firmware-sim": ["proto", "common", "devices"],
  cloud: ["proto", "common", "devices", "api"],
  "cloud/web": ["devices", "api"],
};
/** Allowed from test files only (and as a devDependency). */
const TEST_ONLY: Readonly<Record<string, readonly string[]>> = { edge: ["firmware-sim"], cloud: ["firmware-sim"] };

/** The unit a path inside the repository belongs to (longest folder wins: cloud/web before cloud). */
function unitOf(pathFromRoot: string): string | undefined {
  const p = pathFromRoot.split(/[\\/]/).join("/");
  return Object.keys(ALLOWED)
    .filter((u) => p === u || p.startsWith(`${u}/`))
    .sort((a, b) => b.length - a.length)[0];
}

function packageJson(unit: string): { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, unit, "package.json"), "utf8"));
}

/** npm name → unit, for the workspaces (the dashboard has no package.json of its own). */
function packageNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const unit of Object.keys(ALLOWED)) if (unit !== "cloud/web") names.set(packageJson(unit).name, unit);
  return names;
}

/** A file's imports that break the direction. `files` maps a repository path to its text. */
function importViolations(files: ReadonlyMap<string, string>, names: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [path, text] of files) {
    const from = unitOf(path);
    if (from === undefined) continue;
    const allowed = [...(ALLOWED[from] ?? []), ...(isTestFile(path) ? (TEST_ONLY[from] ?? []) : [])];
    for (const spec of importsOf(text)) {
      let to: string | undefined;
      if (spec.startsWith(".")) to = unitOf(relative(ROOT, resolve(ROOT, path, "..", spec)));
      else {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec);
        to = names.get(name);
      }
      if (to === undefined || to === from) continue;
      if (!allowed.includes(to)) found.push(`${path} imports ${spec} (${from} → ${to})`);
    }
  }
  return found;
}

/** Workspace dependencies declared in package.json that break the direction. */
function manifestViolations(names: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const unit of Object.keys(ALLOWED)) {
    if (unit === "cloud/web") continue;
    const pkg = packageJson(unit);
    const declared: [string, boolean][] = [
      ...Object.keys(pkg.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(pkg.devDependencies ?? {}).map((n): [string, boolean] => [n, true]),
    ];
    for (const [name, dev] of declared) {
      const to = names.get(name);
      if (to === undefined) continue;
      const allowed = [...(ALLOWED[unit] ?? []), ...(dev ? (TEST_ONLY[unit] ?? []) : [])];
      if (!allowed.includes(to)) found.push(`${unit}/package.json ${dev ? "devDependencies" : "dependencies"} names ${name}`);
    }
  }
  return found;
}

function repositoryFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const unit of Object.keys(ALLOWED)) {
    for (const file of tsFiles(join(ROOT, unit))) files.set(relative(ROOT, file), readFileSync(file, "utf8"));
  }
  return files;
}

describe("workspace direction", () => {
  const names = packageNames();

  it("knows every workspace the root package.json lists", () => {
    const workspaces = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] }).workspaces;
    expect(
      Object.keys(ALLOWED)
        .filter((u) => u !== "cloud/web")
        .sort(),
    ).toEqual([...workspaces].sort());
    expect(names.get("@bitvelocity/api")).toBe("api");
  });

  it("catches an upward import by package name or by relative path", () => {
    const files = new Map([
      ["devices/src/x.ts", 'import { x } from "@bitvelocity/common";'],
      ["api/src/y.ts", 'import type { Y } from "@bitvelocity/cloud";'],
      ["cloud/web/src/z.ts", 'import { z } from "../../src/platform/http.js";'],
      ["edge/src/w.ts", 'export { w } from "@bitvelocity/firmware-sim";'],
      ["edge/src/w.test.ts", 'import { w } from "@bitvelocity/firmware-sim";'],
      ["cloud/src/v.ts", 'import type { V } from "@bitvelocity/api";'],
    ]);
    expect(importViolations(files, names)).toEqual([
      "devices/src/x.ts imports @bitvelocity/common (devices → common)",
      "api/src/y.ts imports @bitvelocity/cloud (api → cloud)",
      "cloud/web/src/z.ts imports ../../src/platform/http.js (cloud/web → cloud)",
      "edge/src/w.ts imports @bitvelocity/firmware-sim (edge → firmware-sim)",
    ]);
  });

  it("package.json files declare only workspaces below them", () => {
    expect(manifestViolations(names)).toEqual([]);
  });

  it("the code imports only workspaces below it", () => {
    const files = repositoryFiles();
    expect(files.size).toBeGreaterThan(100);
    expect(importViolations(files, names)).toEqual([]);
  });
});
