/**
 * The edge's folders keep their direction (DESIGN.md §2 and §4, ADR 001): readings flow
 * southbound/broker → pipeline → outbox → northbound. In imports that means:
 * - the sources (`broker/`, `southbound/`) hand readings to `pipeline/` and know nothing further
 *   down: not the outbox, not the uplinks, not each other;
 * - `pipeline/` knows the outbox's types (what it hands on), nothing upstream or downstream of it;
 * - `outbox/` (storage) imports no other edge folder: it knows neither sources nor uplinks, and it
 *   encodes no wire format (no `@bitvelocity/proto`: the uplinks encode their own messages);
 * - `northbound/` reads the outbox through its reader interface and never reaches back to the
 *   pipeline or the sources;
 * - `commands/` (the device-gateway port and the router) and `health/` are used by others and
 *   import none of the chain; nor does `provisioning/` (the claim client and the credentials file),
 *   nor `runtime/` (the process's own V8 heap mode).
 * Folders may read `config.ts` (the program's config schema); only the root files (main, bin,
 * index) compose folders. Tests and test helpers may cross, to compose real peers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importsOf, isTestFile, tsFiles } from "./scan.js";

const SRC = fileURLToPath(new URL("../../edge/src/", import.meta.url));

/** Folder → the folders it may import (besides itself and config.ts). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  broker: ["pipeline", "commands"],
  southbound: ["pipeline", "commands"],
  pipeline: ["outbox"],
  outbox: [],
  northbound: ["outbox", "commands"],
  commands: [],
  health: [],
  provisioning: [],
  /** Configuration versions from the cloud: listens on the uplink, applies through hooks main.ts gives it. */
  "remote-config": ["northbound"],
  /** Agent releases from the cloud: listens on the uplink, restarts through the same exit path as remote-config. */
  update: ["northbound", "remote-config"],
  /** The process itself (V8 heap mode from load and RSS): imports no edge folder, main.ts wires it. */
  runtime: [],
};
/** Packages a folder must not import (the wire format belongs to the uplinks). */
const FORBIDDEN_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  outbox: ["@bitvelocity/proto"],
  pipeline: ["@bitvelocity/proto"],
};
const SHARED_ROOT_FILES = ["config.ts"];

/** The folder of a path relative to edge/src, or undefined for a root file. */
function folderOf(pathInSrc: string): string | undefined {
  const parts = pathInSrc.split(/[\\/]/);
  return parts.length > 1 ? parts[0] : undefined;
}

/** `files` maps a path relative to edge/src to its text. */
function violations(files: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [path, text] of files) {
    const from = folderOf(path);
    if (from === undefined || isTestFile(path)) continue;
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      found.push(`${path}: folder ${from}/ has no place in the direction (add it to ALLOWED)`);
      continue;
    }
    for (const spec of importsOf(text)) {
      if (!spec.startsWith(".")) {
        if (FORBIDDEN_PACKAGES[from]?.some((p) => spec === p || spec.startsWith(`${p}/`))) found.push(`${path} imports ${spec}`);
        continue;
      }
      const target = relative(SRC, resolve(SRC, path, "..", spec));
      const to = folderOf(target);
      if (to === from) continue;
      if (to === undefined) {
        if (!SHARED_ROOT_FILES.includes(target.replace(/\.js$/, ".ts"))) found.push(`${path} imports the root file ${spec}`);
      } else if (!allowed.includes(to)) found.push(`${path} imports ${spec} (${from} → ${to})`);
    }
  }
  return found;
}

describe("edge direction", () => {
  it("classifies every folder of edge/src", () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(folders).toEqual(Object.keys(ALLOWED).sort());
  });

  it("catches imports against the flow", () => {
    const files = new Map([
      ["outbox/a.ts", 'import { Drainer } from "../northbound/drainer.js";'],
      ["outbox/b.ts", 'import { EdgeMessage } from "@bitvelocity/proto";'],
      ["northbound/c.ts", 'import type { ReadingSink } from "../pipeline/sink.js";'],
      ["broker/d.ts", 'import type { OutboxReader } from "../outbox/types.js";'],
      ["southbound/e.ts", 'export { x } from "../broker/index.js";'],
      ["pipeline/f.ts", 'import { startEdge } from "../main.js";'],
      ["broker/g.ts", 'import type { DeviceConfig } from "../config.js";\nimport { n } from "../pipeline/normalize.js";'],
      ["broker/h.test.ts", 'import { Outbox } from "../outbox/index.js";'],
    ]);
    expect(violations(files)).toEqual([
      "outbox/a.ts imports ../northbound/drainer.js (outbox → northbound)",
      "outbox/b.ts imports @bitvelocity/proto",
      "northbound/c.ts imports ../pipeline/sink.js (northbound → pipeline)",
      "broker/d.ts imports ../outbox/types.js (broker → outbox)",
      "southbound/e.ts imports ../broker/index.js (southbound → broker)",
      "pipeline/f.ts imports the root file ../main.js",
    ]);
  });

  it("edge/src keeps southbound/broker → pipeline → outbox → northbound", () => {
    const files = new Map(tsFiles(SRC).map((f) => [relative(SRC, f), readFileSync(f, "utf8")]));
    expect(files.size).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });
});
