/**
 * DESIGN.md §4: domains never import one another. platform and identity may be imported by
 * all; web/ (HTTP wiring) and the root files (main, bin, index, test-support) may import domains.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL(".", import.meta.url));
const DOMAINS = ["ingest", "telemetry", "fleet", "live", "alerts", "provisioning", "releases", "commerce", "chat", "integration"];
const SHARED = ["platform", "identity"];
const WIRING = ["web"];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function imports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3]) as string);
  return out;
}

function folderOf(file: string): string | undefined {
  const parts = relative(SRC, file).split(/[\\/]/);
  return parts.length > 1 ? parts[0] : undefined;
}

export function violations(): string[] {
  const found: string[] = [];
  for (const file of files(SRC)) {
    const from = folderOf(file);
    if (from === undefined || WIRING.includes(from)) continue;
    for (const spec of imports(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const to = folderOf(resolve(file, "..", spec));
      if (to === undefined) {
        found.push(`${relative(SRC, file)} imports the root module ${spec}`);
        continue;
      }
      if (to === from || SHARED.includes(to)) continue;
      if (SHARED.includes(from) && to !== "platform" && to !== "identity") found.push(`${relative(SRC, file)} (shared) imports ${spec}`);
      else if (DOMAINS.includes(to) || WIRING.includes(to)) found.push(`${relative(SRC, file)} imports ${spec}`);
      else found.push(`${relative(SRC, file)} imports an unclassified folder ${spec}`);
    }
  }
  return found;
}

describe("dependency rule", () => {
  it("finds the domains it is checking", () => {
    const present = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(present).toEqual(expect.arrayContaining(["ingest", "telemetry", "fleet", "live", "platform", "identity", "web"]));
    for (const folder of present) expect([...DOMAINS, ...SHARED, ...WIRING]).toContain(folder);
  });

  it("recognises every import form it scans", () => {
    const text = `import a from "../fleet/a.js";\nexport * from "../live/b.js";\nimport type {\n  C,\n} from "../ingest/c.js";\nconst d = await import("../telemetry/d.js");\nimport "../chat/e.js";`;
    expect(imports(text)).toEqual(
      ["../fleet/a.js", "../live/b.js", "../ingest/c.js", "../chat/e.js", "../telemetry/d.js"].sort(
        (a, b) => text.indexOf(a) - text.indexOf(b),
      ),
    );
  });

  it("no domain imports another domain, web or the root", () => {
    expect(violations()).toEqual([]);
  });
});
