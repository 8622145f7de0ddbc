// The power-cut VM: a Debian 13 (trixie) amd64 root filesystem made with mmdebstrap (cached in
// /var/cache/bv-pi like the Pi job's, test/pi/support.ts), the bv-edge package installed into it,
// written into a raw ext4 disk image, and booted with qemu-system-x86_64 (KVM when usable, else
// TCG) on Debian's own kernel from that root filesystem. SIGKILL of the qemu process is the power cut.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export const CACHE = process.env.BV_PI_CACHE ?? "/var/cache/bv-pi";
export const SUITE = "trixie";
/** Besides minbase: Debian's Node 20.19 and the package's dependencies, the kernel (with its initramfs), `ip`. */
const INCLUDE = ["nodejs", "adduser", "ca-certificates", "linux-image-amd64", "iproute2"];
const QEMU = "qemu-system-x86_64";

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/** Why this machine cannot run the VM, or undefined when it can. */
export function missingForVm() {
  if (process.getuid?.() !== 0) return "root (chroot, mount, dpkg in the root filesystem)";
  for (const cmd of [QEMU, "mmdebstrap", "mke2fs", "chroot", "tar"])
    if (!has(cmd)) return `${cmd} (apt-get install qemu-system-x86 mmdebstrap e2fsprogs)`;
  return undefined;
}

/**
 * { accel: "kvm" } when /dev/kvm is hardware KVM (kvm_intel / kvm_amd) that qemu can start a
 * machine on, else { accel: "tcg", reason }: the harness then runs under TCG and says why.
 * BV_POWER_ACCEL=kvm|tcg overrides the probe.
 */
export function probeKvm() {
  const forced = process.env.BV_POWER_ACCEL;
  if (forced === "kvm" || forced === "tcg") return { accel: forced, reason: `BV_POWER_ACCEL=${forced}` };
  if (!existsSync("/dev/kvm")) return { accel: "tcg", reason: "/dev/kvm does not exist" };
  try {
    closeSync(openSync("/dev/kvm", constants.O_RDWR));
  } catch (err) {
    return { accel: "tcg", reason: `/dev/kvm cannot be opened: ${err.message}` };
  }
  // kvm-pvm (a pagetable-based hypervisor for nested use, e.g. inside a Firecracker microVM) serves
  // /dev/kvm without VT-x/AMD-V: it runs PVM-enabled guest kernels only. Debian's kernel stops in its
  // decompressor with "KVM internal error. Suberror: 1 … emulation failure" (a VEX-encoded BMI2
  // instruction its emulator does not handle).
  const hardware = ["kvm_intel", "kvm_amd"].some((m) => existsSync(`/sys/module/${m}`));
  if (!hardware && existsSync("/sys/module/kvm_pvm"))
    return {
      accel: "tcg",
      reason: "/dev/kvm is kvm-pvm (no VT-x/AMD-V; runs PVM guest kernels only, Debian's kernel fails with a KVM emulation failure)",
    };
  // A machine with nothing in it, paused: it stays up (until the timeout) when KVM works, exits at once when not.
  const r = spawnSync(QEMU, ["-accel", "kvm", "-machine", "none", "-nodefaults", "-display", "none", "-monitor", "none", "-S"], {
    timeout: 1500,
    encoding: "utf8",
  });
  if (r.error?.code === "ETIMEDOUT" || r.signal === "SIGTERM") return { accel: "kvm" };
  return { accel: "tcg", reason: `qemu -accel kvm failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}` };
}

/** The cached root filesystem tarball (mmdebstrap, ~3-6 min the first time), keyed by suite and packages. */
export function rootfsTarball(log = () => undefined) {
  mkdirSync(CACHE, { recursive: true });
  const tar = join(CACHE, `vm-${SUITE}-amd64-${INCLUDE.join("-").replace("ca-certificates", "ca")}-v1.tar`);
  if (existsSync(tar)) return tar;
  log(`building the VM root filesystem ${tar} with mmdebstrap (once; cached)`);
  const partial = tar.replace(/\.tar$/, ".partial.tar"); // mmdebstrap picks the format by the extension
  execFileSync(
    "mmdebstrap",
    [
      "--arch=amd64",
      "--variant=minbase",
      "--mode=root",
      "--dpkgopt=force-unsafe-io",
      "--dpkgopt=path-exclude=/usr/share/doc/*",
      "--dpkgopt=path-exclude=/usr/share/man/*",
      "--dpkgopt=path-exclude=/usr/share/locale/*",
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

/**
 * Makes `dir/disk.raw`: the root filesystem with `deb` installed, `files` ({ path inside: { content,
 * mode, group } }) written, and guest-init.sh as /sbin/bv-power-init; plus `dir/vmlinuz` and
 * `dir/initrd.img`, Debian's kernel and initramfs from that root filesystem.
 */
export function buildDisk({ dir, deb, files, sizeMb = 1536, log = () => undefined }) {
  const root = join(dir, "root");
  mkdirSync(root, { recursive: true });
  execFileSync("tar", ["-xf", rootfsTarball(log), "-C", root]);
  copyFileSync(deb, join(root, "tmp", "bv-edge.deb"));
  execFileSync("mount", ["-t", "proc", "proc", join(root, "proc")]);
  try {
    execFileSync("chroot", [root, "dpkg", "-i", "/tmp/bv-edge.deb"], { stdio: ["ignore", "ignore", "inherit"] });
  } finally {
    execFileSync("umount", ["-l", join(root, "proc")]);
  }
  for (const [path, { content, mode = 0o644, group }] of Object.entries(files)) {
    const target = join(root, path);
    writeFileSync(target, content);
    chmodSync(target, mode);
    if (group) execFileSync("chroot", [root, "chown", `root:${group}`, path]);
  }
  const init = join(root, "sbin", "bv-power-init");
  copyFileSync(join(import.meta.dirname, "guest-init.sh"), init);
  chmodSync(init, 0o755);
  const boot = readdirSync(join(root, "boot"));
  const kernel = boot.find((f) => f.startsWith("vmlinuz-"));
  const initrd = boot.find((f) => f.startsWith("initrd.img-"));
  if (!kernel || !initrd) throw new Error(`no kernel/initramfs in the root filesystem's /boot: ${boot.join(", ")}`);
  copyFileSync(join(root, "boot", kernel), join(dir, "vmlinuz"));
  copyFileSync(join(root, "boot", initrd), join(dir, "initrd.img"));
  const disk = join(dir, "disk.raw");
  // ext4 with its journal, populated from the directory (no loop mount needed).
  execFileSync("mke2fs", ["-q", "-F", "-t", "ext4", "-L", "bvroot", "-d", root, disk, `${sizeMb}M`]);
  execFileSync("rm", ["-rf", root]);
  return { disk, kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), kernelVersion: kernel.slice("vmlinuz-".length) };
}

/** The qemu command line: 1 vCPU, `memMb`, virtio disk with cache=none, slirp with host forwards. */
export function qemuArgs({ disk, kernel, initrd, accel, memMb = 512, forwards }) {
  const hostfwd = forwards.map(({ host, guest }) => `hostfwd=tcp:127.0.0.1:${host}-:${guest}`).join(",");
  return [
    ...(accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg"]),
    "-smp",
    "1",
    "-m",
    String(memMb),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-kernel",
    kernel,
    "-initrd",
    initrd,
    "-append",
    "console=ttyS0 root=/dev/vda rootfstype=ext4 rw init=/sbin/bv-power-init quiet net.ifnames=0 panic=-1",
    // cache=none: O_DIRECT on the host (no host page cache in between); the guest sees a volatile
    // write cache and sends FLUSH on fsync, which qemu turns into fdatasync of the image file.
    "-drive",
    `file=${disk},format=raw,if=virtio,cache=none,aio=threads`,
    "-netdev",
    `user,id=n0,${hostfwd}`,
    "-device",
    "virtio-net-pci,netdev=n0",
    "-device",
    "virtio-rng-pci",
  ];
}

/**
 * Boots the VM. `onLine(line, parsed)` sees every console line (parsed: the edge's pino JSON, or
 * undefined). `listening` resolves with ms since spawn when the edge logs its MQTT listener.
 */
export function bootVm(options, onLine = () => undefined) {
  const started = performance.now();
  const child = spawn(QEMU, qemuArgs(options), { stdio: ["pipe", "pipe", "pipe"] });
  const tail = [];
  let settle;
  const listening = new Promise((res, rej) => {
    settle = { res, rej };
  });
  let buffered = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
      tail.push(line);
      if (tail.length > 200) tail.shift();
      let parsed;
      if (line.startsWith("{")) {
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = undefined;
        }
      }
      if (parsed?.msg === "listening" && parsed.listener === "mqtt") settle.res(Math.round(performance.now() - started));
      onLine(line, parsed);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => tail.push(`qemu: ${d.trim()}`));
  const exited = new Promise((res) => {
    child.once("exit", (code, signal) => {
      settle.rej(new Error(`qemu exited (code ${code}, signal ${signal}) before the edge listened:\n${tail.slice(-40).join("\n")}`));
      res({ code, signal });
    });
  });
  listening.catch(() => undefined);
  return {
    child,
    listening,
    exited,
    logs: () => tail.join("\n"),
    /** The power cut: the guest's RAM (page cache, SQLite's and ext4's state in memory) is gone. */
    async cut() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}
