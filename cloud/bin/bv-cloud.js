#!/usr/bin/env -S node --max-semi-space-size=64
// The command npm links at install time. It is committed, not built, because npm links a
// workspace's bins before `npm run build` has made dist/; the program itself is dist/bin.js.
// --max-semi-space-size=64: V8's young generation may grow to hold a group commit's readings
// (cloud/README.md, "Running"; bench/RESULTS.md, "Backlog drain").
import { existsSync } from "node:fs";

const program = new URL("../dist/bin.js", import.meta.url);
if (!existsSync(program)) {
  console.error("bv-cloud: not built yet; run `npm run build` at the repository root first");
  process.exit(1);
}
await import(program.href);
