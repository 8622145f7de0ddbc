/**
 * Pieces of the agent-update journey: the real launcher (edge/deploy/bv-edge.sh) filled in for
 * this machine, a supervisor that restarts it whenever it exits (like systemd's Restart=), and
 * small but valid bv-edge packages of the built agent made with dpkg-deb.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const EDGE = join(ROOT, "edge");

/** The package's launcher with the packaged copy = this checkout's built edge, on this Node. */
export function writeLauncher(file: string): void {
  const text = readFileSync(join(EDGE, "deploy/bv-edge.sh"), "utf8")
    .replaceAll("@NODE@", process.execPath)
    .replaceAll("@V8_FLAGS@", "--max-semi-space-size=1")
    .replaceAll("@APP@", EDGE);
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/**
 * A bv-edge_<version>_amd64.deb holding usr/lib/bv-edge with the built agent (its package.json
 * says `version`) and node_modules linked to this checkout's. `crash` makes an agent that exits
 * at start.
 */
export function buildRelease(dir: string, version: string, options: { crash?: boolean } = {}): string {
  const stage = join(dir, `stage-${version}`);
  const app = join(stage, "usr/lib/bv-edge");
  mkdirSync(join(stage, "DEBIAN"), { recursive: true });
  mkdirSync(app, { recursive: true });
  cpSync(join(EDGE, "dist"), join(app, "dist"), { recursive: true, filter: (src) => !/\.(map|d\.ts)$/.test(src) });
  const pkg = JSON.parse(readFileSync(join(EDGE, "package.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(app, "package.json"), `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
  symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"));
  // The launcher runs the bundle (dist/bundle/bin.js) and falls back to dist/bin.js: both crash.
  if (options.crash) {
    for (const program of ["dist/bin.js", "dist/bundle/bin.js"])
      writeFileSync(join(app, program), 'console.error("broken build"); process.exit(3);\n');
  }
  writeFileSync(
    join(stage, "DEBIAN/control"),
    `Package: bv-edge\nVersion: ${version}\nArchitecture: amd64\nMaintainer: test <t@example.com>\nDescription: test build\n`,
  );
  const deb = join(dir, `bv-edge_${version}_amd64.deb`);
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "--build", stage, deb], { stdio: ["ignore", "ignore", "inherit"] });
  rmSync(stage, { recursive: true, force: true });
  return deb;
}

/** Runs the launcher and starts it again whenever it exits (systemd's Restart=always, without the 5 s pause). */
export class Supervisor {
  readonly exits: (number | null)[] = [];
  log = "";
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(
    private readonly launcher: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(): void {
    if (this.stopping) return;
    const child = spawn("/bin/sh", [this.launcher, ...this.args], { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", (code) => {
      this.exits.push(code);
      if (!this.stopping) setTimeout(() => this.start(), 200);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}
