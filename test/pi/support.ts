/**
 * The Pi on this x86 machine (shared/PI-NOTES.md): a Debian 13 root filesystem for arm64 or
 * armhf, cached under /var/cache/bv-pi, entered with chroot; qemu-user (binfmt_misc) runs its
 * ARM binaries. PID 1 is not systemd there, so the agent is started as its service user directly.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CACHE = process.env.BV_PI_CACHE ?? "/var/cache/bv-pi";
export const SUITE = "trixie";
/** What the root filesystem holds besides minbase: Debian's Node 20.19 and what the package depends on. */
const INCLUDE = ["nodejs", "adduser", "ca-certificates"];
const QEMU = { arm64: "qemu-aarch64", armhf: "qemu-arm" } as const;
const CROSS = { arm64: "aarch64-linux-gnu-g++", armhf: "arm-linux-gnueabihf-g++" } as const;
export type PiArch = keyof typeof QEMU;

const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/** Why this machine cannot run the ARM job, or undefined when it can. */
export function missingForPi(arch: PiArch): string | undefined {
  if (process.getuid?.() !== 0) return "root (chroot, mount)";
  for (const cmd of ["mmdebstrap", "dpkg-deb", "chroot", CROSS[arch]]) if (!has(cmd)) return cmd;
  if (!existsSync("/proc/sys/fs/binfmt_misc/status")) {
    try {
      execFileSync("mount", ["-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"], { stdio: "ignore" });
      execFileSync("update-binfmts", ["--enable"], { stdio: "ignore" });
    } catch {
      return "binfmt_misc";
    }
  }
  if (!existsSync(`/proc/sys/fs/binfmt_misc/${QEMU[arch]}`)) return `${QEMU[arch]} binfmt registration (qemu-user-static)`;
  return undefined;
}

/** The cached root filesystem tarball, made once with mmdebstrap (~4-12 min), keyed by suite, arch and packages. */
export function rootfsTarball(arch: PiArch): string {
  mkdirSync(CACHE, { recursive: true });
  const tar = join(CACHE, `rootfs-${SUITE}-${arch}-${INCLUDE.join("-").replace("ca-certificates", "ca")}-v1.tar`);
  if (existsSync(tar)) return tar;
  const partial = tar.replace(/\.tar$/, ".partial.tar"); // mmdebstrap picks the format by the extension
  execFileSync(
    "mmdebstrap",
    [
      `--arch=${arch}`,
      "--variant=minbase",
      "--mode=root",
      "--dpkgopt=force-unsafe-io",
      `--include=${INCLUDE.join(",")}`,
      SUITE,
      partial,
      "http://deb.debian.org/debian",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  renameSync(partial, tar);
  return tar;
}

/** A throw-away copy of the root filesystem with /proc mounted. */
export class Chroot {
  readonly dir: string;

  constructor(readonly arch: PiArch) {
    this.dir = mkdtempSync(join(tmpdir(), `bv-pi-${arch}-`));
    execFileSync("tar", ["-xf", rootfsTarball(arch), "-C", this.dir]);
    execFileSync("mount", ["-t", "proc", "proc", join(this.dir, "proc")]);
  }

  /**
   * Runs a command inside as root; resolves with stdout, rejects with its output on failure. Async:
   * the cloud it may talk to runs in this process.
   */
  run(args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn("chroot", [this.dir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => {
        if (code === 0) resolve(stdout);
        else reject(new Error(`chroot ${args.join(" ")} exited ${code}:\n${stdout}${stderr}`));
      });
    });
  }

  /** Starts a long-running command as a user (uid/gid from the root filesystem's passwd). */
  spawnAs(user: string, groups: string, args: readonly string[]): ChildProcess {
    return spawn("chroot", [`--userspec=${user}:${user}`, `--groups=${groups}`, this.dir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  }

  path(inside: string): string {
    return join(this.dir, inside);
  }

  read(inside: string): string {
    return readFileSync(this.path(inside), "utf8");
  }

  dispose(): void {
    try {
      execFileSync("umount", ["-l", join(this.dir, "proc")]);
    } catch {
      // not mounted
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Builds bv-edge_<version>_<arch>.deb with the project's script; returns its path. */
export function buildPackage(arch: PiArch | "amd64", version: string, out: string): string {
  execFileSync(process.execPath, [join(ROOT, "edge", "deploy", "package.mjs"), "--arch", arch, "--version", version, "--out", out], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  return join(out, `bv-edge_${version}_${arch}.deb`);
}

/** A TCP pass-through that can cut the link (a network outage between the edge and the cloud). */
export class TcpGate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private blocked = false;
  port = 0;

  constructor(private readonly target: () => number) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.blocked) {
        client.destroy();
        return;
      }
      const upstream = connect(this.target(), "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  block(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
  }

  open(): void {
    this.blocked = false;
  }

  async stop(): Promise<void> {
    this.block();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Free TCP ports on 127.0.0.1 (the chroot shares this machine's network), below the ephemeral range. */
export { freePorts } from "@bitvelocity/common/test-services";

/** Resident memory of a process in kB (VmRSS), or undefined once it has exited. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
