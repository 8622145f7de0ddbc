#!/usr/bin/env node
// The command npm links at install time. It is committed, not built, because npm links a
// workspace's bins before `npm run build` has made dist/; the program itself is dist/bundle/bin.js
// (the bundled agent, edge/bundle.mjs), or dist/bin.js where only tsc has run.
import { existsSync } from "node:fs";

const bundled = new URL("../dist/bundle/bin.js", import.meta.url);
const program = existsSync(bundled) ? bundled : new URL("../dist/bin.js", import.meta.url);
if (!existsSync(program)) {
  console.error("bv-edge: not built yet; run `npm run build` at the repository root first");
  process.exit(1);
}
await import(program.href);
