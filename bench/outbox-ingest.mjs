// Outbox ingest: readings/s the durable outbox commits, with synchronous=FULL (every group commit
// fsynced: what a PUBACK promises) and with NORMAL, and the bytes it writes to disk per million
// readings (SD-card wear), read from /proc/self/io. Writes the section "Outbox ingest" of
// bench/RESULTS.md. Usage: node bench/outbox-ingest.mjs  (BENCH_OUTBOX_READINGS=500000)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../scripts/system.mjs";
import { replaceSection, resultsFile } from "./lib.mjs";

const { Outbox } = await import(join(ROOT, "edge/dist/outbox/index.js"));
const TOTAL = Number(process.env.BENCH_OUTBOX_READINGS ?? 500_000);
const IN_FLIGHT = 4000;

function diskWrites() {
  const io = readFileSync("/proc/self/io", "utf8");
  return Number(/write_bytes:\s+(\d+)/.exec(io)?.[1] ?? 0);
}

async function run(synchronous) {
  const dir = mkdtempSync(join(tmpdir(), "bv-bench-outbox-"));
  const outbox = Outbox.open({ dir, bootId: "bench", synchronous, budgetBytes: 4 * 1024 * 1024 * 1024, maxPending: IN_FLIGHT * 2 });
  const writesBefore = diskWrites();
  const started = performance.now();
  let n = 0;
  while (n < TOTAL) {
    const wave = [];
    for (let k = 0; k < IN_FLIGHT && n < TOTAL; k++, n++) {
      wave.push(
        outbox.append({
          deviceId: `env-${String(n % 1000).padStart(4, "0")}`,
          deviceType: "env-sensor",
          values: { temperature: 20 + (n % 50) / 10, humidity: 40 + (n % 30) },
        }),
      );
    }
    await Promise.all(wave);
  }
  const seconds = (performance.now() - started) / 1000;
  outbox.close();
  const written = diskWrites() - writesBefore;
  rmSync(dir, { recursive: true, force: true });
  return { rate: Math.round(TOTAL / seconds), seconds, bytesPerMillion: Math.round((written / TOTAL) * 1e6) };
}

const full = await run("full");
const normal = await run("normal");
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`;
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine}, ext4 on a virtual disk
Command: \`BENCH_OUTBOX_READINGS=${TOTAL} node bench/outbox-ingest.mjs\` (also part of \`npm run bench\`)

| synchronous | readings/s committed (group commit, ${IN_FLIGHT} appends in flight) | disk bytes written per million readings |
|---|---|---|
| FULL (default: a PUBACK survives a power cut) | **${full.rate}** | ${mb(full.bytesPerMillion)} |
| NORMAL (\`outbox.synchronous: normal\`) | **${normal.rate}** | ${mb(normal.bytesPerMillion)} |

Target: ≥ 100,000 readings/s. Readings are env-sensor readings with two metrics (about 130 bytes each as stored);
bytes written are the process's \`write_bytes\` from /proc/self/io (what reached the block device: WAL, checkpoints,
the database file), so they are the SD-card wear figure.`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Outbox ingest", body));
console.log(body);
