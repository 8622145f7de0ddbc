#!/usr/bin/env node
// The command npm links at install time. It is committed, not built, because npm links a
// workspace's bins before `npm run build` has made dist/; the program itself is dist/bin.js.
import { existsSync } from "node:fs";

const program = new URL("../dist/bin.js", import.meta.url);
if (!existsSync(program)) {
  console.error("bv-sim: not built yet; run `npm run build` at the repository root first");
  process.exit(1);
}
await import(program.href);
