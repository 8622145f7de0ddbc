// Small measuring helpers shared by the benchmarks.
import { readFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the figures go: bench/RESULTS.md, or $BENCH_RESULTS (the smoke test writes to a temporary copy). */
export function resultsFile() {
  return process.env.BENCH_RESULTS ?? join(fileURLToPath(new URL(".", import.meta.url)), "RESULTS.md");
}

export function machine() {
  return `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`;
}

/** CPU time (user + system, ms) and resident memory (MB) of a process, from /proc. */
export function procSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / 100, rssMb: Math.round(rssKb / 1024) };
  } catch {
    return { cpuMs: 0, rssMb: 0 };
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return "n/a";
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The middle value (the upper one of an even count): always one of the values measured. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Replaces (or appends) the `## title` section of a Markdown document. */
export function replaceSection(doc, title, body) {
  const heading = `## ${title}`;
  const start = doc.indexOf(heading);
  const section = `${heading}\n\n${body.trim()}\n`;
  if (start < 0) return `${doc.trimEnd()}\n\n${section}`;
  const next = doc.indexOf("\n## ", start + heading.length);
  return `${doc.slice(0, start)}${section}${next < 0 ? "" : doc.slice(next)}`;
}

/**
 * Logs in as the admin and opens a socket.io connection to the cloud, as an operator's browser
 * would; `onReading(reading, receivedAtMs)` sees every live reading the socket is sent.
 */
export async function watchLive(base, adminPassword, onReading) {
  const { io } = await import("socket.io-client");
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: adminPassword }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  const socket = io(base, { extraHeaders: { cookie }, transports: ["websocket"] });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  socket.on("readings", (batch) => {
    const now = Date.now();
    for (const r of batch) onReading(r, now);
  });
  return socket;
}
