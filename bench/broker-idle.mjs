// Broker memory with many idle MQTT connections: the edge broker (pre-parser + aedes, open
// access policy) runs in its own process; this process opens BENCH_IDLE_CONNECTIONS (default
// 10,000) TCP connections, each completing CONNECT/CONNACK (MQTT 3.1.1, clean session,
// keepalive 0) and then staying idle. Needs `ulimit -n` above the connection count in both
// processes (checked). Writes the section "Broker idle connections" of bench/RESULTS.md.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { machine, ROOT } from "./broker-lib.mjs";
import { procSample, replaceSection, resultsFile } from "./lib.mjs";

const N = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 10_000);
const limit = Number(execFileSync("sh", ["-c", "ulimit -n"]).toString().trim());
if (limit < N + 100) {
  console.error(`ulimit -n is ${limit}; raise it above ${N + 100} (e.g. \`ulimit -n 20000\`) and run again`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    `import { startOpenBroker } from ${JSON.stringify(join(ROOT, "bench/broker-lib.mjs"))};
     const { port } = await startOpenBroker({ max_connections: ${N + 100}, connect_rate_per_s: 1000000, connect_burst: 1000000 });
     console.log(port);`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const port = await new Promise((resolve) => child.stdout.once("data", (d) => resolve(Number(d.toString().trim()))));
await new Promise((r) => setTimeout(r, 1000));
const before = procSample(child.pid).rssMb;

const CONNECT = (id) =>
  Buffer.concat([Buffer.from([0x10, 12 + id.length, 0, 4]), Buffer.from("MQTT"), Buffer.from([4, 2, 0, 0, 0, id.length]), Buffer.from(id)]);
function open(i) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("error", reject);
    s.once("connect", () => s.write(CONNECT(`idle-${i}`)));
    s.once("data", (d) => (d[0] === 0x20 && d[3] === 0 ? resolve(s) : reject(new Error(`CONNACK ${d.toString("hex")}`))));
  });
}
const sockets = [];
const t0 = Date.now();
for (let i = 0; i < N; i += 200) {
  const batch = await Promise.all(Array.from({ length: Math.min(200, N - i) }, (_, k) => open(i + k)));
  sockets.push(...batch);
}
const connectSeconds = (Date.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 10_000));
const after = procSample(child.pid).rssMb;
for (const s of sockets) s.destroy();
child.kill();

const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()}
Command: \`node bench/broker-idle.mjs\` (BENCH_IDLE_CONNECTIONS=${N}; \`ulimit -n\` was ${limit}: it must exceed the connection count).

| figure | value |
|---|---|
| broker process RSS, started, no clients | ${before} MB |
| broker process RSS, ${N.toLocaleString("en")} idle connected clients, 10 s after the last CONNACK | ${after} MB |
| per connection | ${(((after - before) * 1024) / N).toFixed(1)} KiB |
| time to connect them all (200 at a time) | ${connectSeconds.toFixed(1)} s |

Default limits are lower (\`mqtt.limits.max_connections\` 2000, \`connect_rate_per_s\` 200 per address); the run raises both.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Broker idle connections", body));
process.stdout.write(`${body}\n`);
process.exit(0);
