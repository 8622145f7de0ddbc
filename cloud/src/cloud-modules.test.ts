/**
 * Each module's declared events match its code: every event a domain's files emit (bus.emit or
 * appendEvent) is in its `publishes`, every event they subscribe to (bus.on) is in its
 * `consumes`, and nothing is declared that the code does not do.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cloudModules } from "./main.js";

const SRC = fileURLToPath(new URL(".", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return sources(join(dir, e.name));
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [readFileSync(join(dir, e.name), "utf8")] : [];
  });
}

function eventsIn(texts: string[], pattern: RegExp): string[] {
  const found = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(pattern)) found.add(m[1] as string);
  return [...found].sort();
}

describe("module declarations", () => {
  const { modules } = cloudModules();

  it("every module has a unique name that is its folder", () => {
    const names = modules.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    for (const name of names) expect(folders).toContain(name);
  });

  for (const module of modules) {
    it(`${module.name}: publishes and consumes what its code emits and listens to`, () => {
      const texts = sources(join(SRC, module.name));
      const emitted = eventsIn(texts, /(?:\bbus\.emit|\bappendEvent\([^,]+,)\s*\(?\s*"([A-Za-z]+)"/g);
      const heard = eventsIn(texts, /\bbus\.on\(\s*"([A-Za-z]+)"/g);
      expect([...module.publishes].sort()).toEqual(emitted);
      expect([...module.consumes].sort()).toEqual(heard);
    });
  }
});
