/**
 * The bv-edge systemd unit as the package installs it: `systemd-analyze verify` says nothing
 * (it exits 0 on some bad directives, so any output fails), and `systemd-analyze security`
 * rates its exposure at 2.0 or less ("OK").
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { missingService, tempDir } from "../e2e/support.js";

const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
const missing = missingService("systemd-analyze (Debian package systemd)", hasAnalyze);
const deploy = join(import.meta.dirname, "../../edge/deploy");
const template = readFileSync(join(deploy, "bv-edge.service"), "utf8");
const fill = (text: string) =>
  text
    .replaceAll("@NODE@", "/usr/bin/node")
    .replaceAll("@V8_FLAGS@", "--max-semi-space-size=8 --v8-pool-size=1")
    .replaceAll("@APP@", "/usr/lib/bv-edge");

/**
 * The unit as package.mjs fills it for the Debian-nodejs runtime. It starts the launcher
 * (/usr/bin/bv-edge), which verify wants to find: with `launcher`, the filled launcher is written
 * beside the unit and ExecStart points there (this machine has no bv-edge installed).
 */
function installedUnit(launcher = true): string {
  const dir = tempDir("unit");
  mkdirSync(dir, { recursive: true });
  const unit = join(dir, "bv-edge.service");
  let text = fill(template);
  if (launcher) {
    writeFileSync(join(dir, "bv-edge"), fill(readFileSync(join(deploy, "bv-edge.sh"), "utf8")), { mode: 0o755 });
    text = text.replace("ExecStart=/usr/bin/bv-edge ", `ExecStart=${join(dir, "bv-edge")} `);
  }
  writeFileSync(unit, text);
  return unit;
}

describe.skipIf(missing)("the bv-edge systemd unit", () => {
  it("verifies without a single remark", () => {
    const res = spawnSync("systemd-analyze", ["verify", installedUnit()], { encoding: "utf8" });
    expect(`${res.stdout}${res.stderr}`).toBe("");
    expect(res.status).toBe(0);
  });

  it("catches a bad directive (the check above can fail)", () => {
    const unit = installedUnit();
    writeFileSync(unit, readFileSync(unit, "utf8").replace("[Service]", "[Service]\nProtectSytem=strict"));
    const res = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    expect(`${res.stdout}${res.stderr}`).toMatch(/Unknown key.*ProtectSytem/);
  });

  it("is hardened: exposure 2.0 or less, with the V8 flags and restart on failure", () => {
    const unit = installedUnit();
    const text = execFileSync("systemd-analyze", ["security", "--offline=true", "--no-pager", unit], { encoding: "utf8" });
    const m = /Overall exposure level for bv-edge\.service: (\d+\.\d+) (\w+)/.exec(text);
    expect(m, text).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(2.0);
    expect(m?.[2]).toBe("OK");
    const body = readFileSync(installedUnit(false), "utf8");
    // The launcher follows releases/current (agent updates) and runs Node with the V8 flags.
    expect(body).toMatch(/^ExecStart=\/usr\/bin\/bv-edge --config \/etc\/bv-edge\/edge\.yaml$/m);
    expect(fill(readFileSync(join(deploy, "bv-edge.sh"), "utf8"))).toMatch(/^exec "\$NODE" --max-semi-space-size=8 --v8-pool-size=1 /m);
    expect(body).toMatch(/^Restart=on-failure$/m);
    expect(body).toMatch(/^User=bv-edge$/m);
    expect(body).toMatch(/^SupplementaryGroups=dialout$/m);
  });
});
