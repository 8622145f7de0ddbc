/**
 * The real servers the scale-out tests talk to (DESIGN.md §5): a librdkafka mock Kafka cluster
 * (kcat), VictoriaMetrics, PostgreSQL and Redis. Each helper reuses an address CI exports
 * (BV_KAFKA_BROKERS, BV_VM_URL, BV_PG_URL, BV_REDIS_URL) or starts the server itself on a free
 * port. A missing server skips the test with a visible reason, except under
 * BV_REQUIRE_SERVICES=1 (CI), where it fails. Test-only: imported as @bitvelocity/common/test-services.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Service<T> = ({ available: true; stop(): Promise<void> } & T) | { available: false; reason: string };

/** Throws under BV_REQUIRE_SERVICES=1; otherwise prints why the tests are skipped. */
function missing(what: string, why: string): { available: false; reason: string } {
  const reason = `${what} is not available: ${why}`;
  if (process.env.BV_REQUIRE_SERVICES === "1") throw new Error(`required service missing: ${reason}`);
  console.warn(`skipping: ${reason}`);
  return { available: false, reason };
}

function hasBinary(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Picked from 20000–32767, below Linux's ephemeral range (ip_local_port_range, 32768–60999 by
 * default). Outgoing connections take their source ports from that range, and port-0 listeners
 * theirs, so a port picked there and released could be taken by some other test's connection
 * before the peer binds it; CI saw an edge fail with PORT_IN_USE that way.
 */
const PICK_FROM = 20_000;
const PICK_TO = 32_767;

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/**
 * Distinct ports nobody listens on, for peers that start later: each is checked by binding it,
 * and all are held until every one is picked, then released.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let tries = 0; held.length < count; tries++) {
      if (tries >= 1000) throw new Error(`no ${count} free ports in ${PICK_FROM}-${PICK_TO}`);
      const server = await listenOn(PICK_FROM + Math.floor(Math.random() * (PICK_TO - PICK_FROM + 1))).catch(() => undefined);
      if (server) held.push(server);
    }
    return held.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** A server started here dies with the test process, even if a test's cleanup never ran. */
function reap(child: ChildProcess): ChildProcess {
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
}

/**
 * A Kafka-protocol cluster: kcat's librdkafka mock (3 brokers, topics auto-created with 4 partitions).
 * `own` starts a private one even when BV_KAFKA_BROKERS is set (for tests that stop the cluster).
 */
export async function kafkaCluster(options: { own?: boolean } = {}): Promise<Service<{ brokers: string[] }>> {
  const fromEnv = process.env.BV_KAFKA_BROKERS;
  if (fromEnv && !options.own) return { available: true, brokers: fromEnv.split(","), stop: async () => {} };
  if (!hasBinary("kcat")) return missing("Kafka (kcat mock cluster)", "kcat is not installed (Debian package kcat)");
  const child = reap(
    spawn("kcat", ["-X", "test.mock.num.brokers=3", "-b", "x", "-C", "-t", "keepalive"], {
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  const brokers = await new Promise<string[] | undefined>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve(undefined), 10_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /replaced with ([0-9.:,]+)/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1].split(","));
      }
    });
    child.once("exit", () => resolve(undefined));
  });
  if (!brokers) {
    await stopChild(child);
    return missing("Kafka (kcat mock cluster)", "kcat did not print the mock cluster's bootstrap addresses");
  }
  child.stderr?.resume();
  return { available: true, brokers, stop: () => stopChild(child) };
}

/**
 * VictoriaMetrics with the InfluxDB v2 write API. Retention is long (contract tests write 2025
 * timestamps) and dedup keeps one sample per series and millisecond, so a re-written point is one point.
 */
export async function victoriaMetrics(): Promise<Service<{ url: string }>> {
  const fromEnv = process.env.BV_VM_URL;
  if (fromEnv) return { available: true, url: fromEnv.replace(/\/$/, ""), stop: async () => {} };
  if (!hasBinary("victoria-metrics"))
    return missing("VictoriaMetrics", "victoria-metrics is not installed (Debian package victoria-metrics)");
  const dir = mkdtempSync(join(tmpdir(), "bv-vm-"));
  const port = await freePort();
  const child = reap(
    spawn(
      "victoria-metrics",
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${dir}`,
        "-retentionPeriod=100y",
        "-dedup.minScrapeInterval=1ms",
        "-loggerLevel=ERROR",
      ],
      { stdio: "ignore" },
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { available: true, url, stop };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  return missing("VictoriaMetrics", `it did not answer /health on port ${port}`);
}

/** PostgreSQL (trust auth, database `test`); callers make their own scratch database or schema. */
export async function postgres(): Promise<Service<{ url: string }>> {
  const url = process.env.BV_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const { hostname, port } = new URL(url);
  if (!(await portOpen(hostname, Number(port || 5432)))) return missing("PostgreSQL", `nothing listens on ${hostname}:${port || 5432}`);
  return { available: true, url, stop: async () => {} };
}

export async function redis(): Promise<Service<{ url: string }>> {
  const url = process.env.BV_REDIS_URL ?? "redis://127.0.0.1:6379";
  const { hostname, port } = new URL(url);
  if (!(await portOpen(hostname, Number(port || 6379)))) return missing("Redis", `nothing listens on ${hostname}:${port || 6379}`);
  return { available: true, url, stop: async () => {} };
}

/**
 * RabbitMQ is one shared broker on the machine, and some tests restart it (`rabbitmqctl stop_app`):
 * every test file that talks to it holds this lock from its first to its last test, so a restart
 * in one file never cuts another file's connections when vitest runs files in parallel. The lock
 * is a directory (atomic mkdir) holding the owner's pid; a lock whose owner died is taken over.
 * Resolves to the release function.
 */
export async function rabbitMqLock(timeoutMs = 600_000): Promise<() => void> {
  const dir = join(tmpdir(), "bv-rabbitmq-tests.lock");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(dir, "pid"), "utf8"));
    } catch {
      // Created but not written yet: the owner is between its two steps.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`RabbitMQ test lock ${dir} still held by pid ${owner}`);
    else await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
