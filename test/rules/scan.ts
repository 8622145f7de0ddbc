/** Shared by the rules tests: list TypeScript files and the module specifiers they import. */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every .ts file under `dir` (recursively), skipping node_modules and dist. */
export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : tsFiles(join(dir, e.name));
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [];
  });
}

/** Specifiers of static imports and re-exports (type-only too), dynamic imports and side-effect imports. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3]) as string);
  return out;
}

/** Tests and test helpers compose real peers across boundaries; the rules bind shipped code. */
export function isTestFile(file: string): boolean {
  const name = file.split(/[\\/]/).pop() ?? "";
  return name.endsWith(".test.ts") || name.endsWith(".contract.ts") || name.startsWith("test-");
}
