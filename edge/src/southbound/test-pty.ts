/** A real pty pair (socat) for serial tests: two linked device paths; stop() is an unplugged cable. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export class PtyPair {
  private proc: ChildProcess | undefined;

  constructor(readonly dir: string) {}

  get master(): string {
    return join(this.dir, "edge");
  }

  get slave(): string {
    return join(this.dir, "sim");
  }

  async start(): Promise<void> {
    const proc = spawn("socat", [`pty,raw,echo=0,link=${this.master}`, `pty,raw,echo=0,link=${this.slave}`], { stdio: "ignore" });
    this.proc = proc;
    const start = Date.now();
    while (!(existsSync(this.master) && existsSync(this.slave))) {
      if (Date.now() - start > 5000 || proc.exitCode !== null) throw new Error("socat did not create the pty pair");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
  }
}
