#!/usr/bin/env node
/**
 * Bundles the compiled agent (dist/bin.js, from tsc) into dist/bundle/: one tree-shaken ES module
 * graph with whitespace, comments and unused code removed, which is what bv-edge runs. The agent's
 * JS heap holds the source text of every module it loads, and about a third of that was comments,
 * licences and code the agent never calls (zod's locales, grpc-js' unused parts); the bundle holds
 * less and loads fewer files: RSS with 1,000 devices and cold start in bench/RESULTS.md ("Edge memory",
 * "Edge cold start"), ADR 011.
 *
 * Stays outside the bundle, loaded from node_modules when first used: native addons (better-sqlite3,
 * serialport), what the agent loads lazily and rarely (node-opcua, kafkajs, ws), and mqtt-packet,
 * which the broker configures on the instance aedes requires (src/broker/packet-numbers.ts).
 * Identifiers are minified as well (2 MB of RSS); for readable stack traces run the unbundled
 * dist/bin.js, which ships beside it.
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const EXTERNAL = [
  "better-sqlite3",
  "serialport",
  "@serialport/*",
  "node-opcua*",
  "kafkajs",
  "ws",
  "bufferutil",
  "utf-8-validate",
  "mqtt-packet",
];

const outdir = here("./dist/bundle");
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [here("./dist/bin.js")],
  outdir,
  bundle: true,
  splitting: true, // the lazy imports (OPC UA, Kafka, updates, claim) stay separate chunks
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true, // identifiers too: kept, the RSS with 1,000 devices was 97 MB instead of 95 (RESULTS.md)
  legalComments: "none",
  external: EXTERNAL,
  // CommonJS dependencies inside an ES module bundle call require() for Node's built-ins.
  banner: { js: "import { createRequire as __bvRequire } from 'node:module'; const require = __bvRequire(import.meta.url);" },
  logLevel: "warning",
});
