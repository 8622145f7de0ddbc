// Long fuzz run on the edge broker's input path: fast-check mutations of the conformance
// vectors' packets, written on many TCP connections to the real broker (pre-parser, limits,
// aedes; open access policy), while a well-behaved client publishes and receives QoS 1
// messages. Bounded by BENCH_FUZZ_PACKETS (default 1,000,000) and BENCH_FUZZ_SECONDS (default
// 900). Findings: uncaught errors in the broker process, a stopped broker, a good client
// disconnected or missing data, memory growth. Writes the section "Broker fuzzing" of RESULTS.md.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import mqtt from "mqtt";
import { conformance, fuzz, machine, ROOT, startOpenBroker } from "./broker-lib.mjs";
import { replaceSection, resultsFile } from "./lib.mjs";

const TARGET = Number(process.env.BENCH_FUZZ_PACKETS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_FUZZ_SECONDS ?? 900);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? 20261126);
const PARALLEL = Number(process.env.BENCH_FUZZ_PARALLEL ?? 64);
const at = machine();

const findings = [];
process.on("uncaughtException", (err) => findings.push(`uncaught exception: ${err.stack ?? err}`));
process.on("unhandledRejection", (err) => findings.push(`unhandled rejection: ${err?.stack ?? err}`));

const { loadVectors } = await conformance();
const { runSession, seedPool, sessionArbitrary } = await fuzz();
const pool = seedPool(loadVectors(join(ROOT, "test/conformance/mqtt")));
const { broker, port } = await startOpenBroker({ connect_rate_per_s: 1_000_000, connect_burst: 1_000_000 });

const url = `mqtt://127.0.0.1:${port}`;
const sub = await mqtt.connectAsync(url, { clientId: "good-sub", protocolVersion: 4, reconnectPeriod: 0 });
const pub = await mqtt.connectAsync(url, { clientId: "good-pub", protocolVersion: 4, reconnectPeriod: 0 });
let drops = 0;
for (const c of [sub, pub]) c.on("close", () => drops++);
const received = [];
sub.on("message", (_t, p) => received.push(Number(p.toString())));
await sub.subscribeAsync("good/t", { qos: 1 });
let sent = 0;
let publishing = true;
const publisher = (async () => {
  while (publishing && drops === 0) {
    await pub.publishAsync("good/t", String(sent), { qos: 1 });
    sent++;
    await new Promise((r) => setTimeout(r, 20));
  }
})();

const arb = sessionArbitrary(pool.length, 32);
const started = Date.now();
const rss = [Math.round(process.memoryUsage().rss / 2 ** 20)];
let packets = 0;
let sessions = 0;
let batchSeed = SEED;
while (packets < TARGET && Date.now() - started < SECONDS * 1000) {
  const batch = fc.sample(arb, { numRuns: PARALLEL * 8, seed: batchSeed++ });
  for (let i = 0; i < batch.length; i += PARALLEL) {
    const counts = await Promise.all(batch.slice(i, i + PARALLEL).map((s) => runSession({ host: "127.0.0.1", port }, pool, s, 5)));
    packets += counts.reduce((a, b) => a + b, 0);
    sessions += counts.length;
  }
  if (sessions % (PARALLEL * 80) < PARALLEL * 8) rss.push(Math.round(process.memoryUsage().rss / 2 ** 20));
}
const seconds = (Date.now() - started) / 1000;
publishing = false;
await publisher;
await new Promise((r) => setTimeout(r, 1000));
rss.push(Math.round(process.memoryUsage().rss / 2 ** 20));

if (!broker.running) findings.push("the broker stopped");
const goodDrops = drops;
if (drops > 0) findings.push(`the well-behaved clients were disconnected ${drops} time(s)`);
const missing = sent - new Set(received).size;
if (missing > 0) findings.push(`${missing} of ${sent} good QoS 1 messages not received`);
await sub.endAsync();
await pub.endAsync();
await broker.stop();

const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${at}
Command: \`node bench/broker-fuzz.mjs\` (BENCH_FUZZ_PACKETS=${TARGET}, BENCH_FUZZ_SECONDS=${SECONDS}, seed ${SEED}, ${PARALLEL} connections at a time; CI runs a short version in test/conformance/broker-fuzz.test.ts).
Mutations (fast-check): bit flips, byte sets, inserts, deletes, truncation, splicing two vector packets, remaining-length damage; up to 32 packets per connection, half of the connections sending a valid CONNECT first. A packet counts as executed when it was written to the broker's socket (a connection the broker closes early still counts its remaining packets as written).

| figure | value |
|---|---|
| mutated packets written | ${packets.toLocaleString("en")} |
| fuzz connections | ${sessions.toLocaleString("en")} |
| duration | ${seconds.toFixed(0)} s (${Math.round(packets / seconds).toLocaleString("en")} packets/s) |
| process RSS (broker + fuzzer + good clients), samples | ${rss.join(" → ")} MB |
| good client: QoS 1 messages sent / received, disconnects | ${sent} / ${new Set(received).size}, ${goodDrops} |
| findings | ${findings.length === 0 ? "none" : findings.length} |
${findings.length > 0 ? `\n${findings.map((f) => `- ${f.split("\n")[0]}`).join("\n")}\n` : ""}`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Broker fuzzing", body));
process.stdout.write(`${body}\n`);
process.exit(findings.length > 0 ? 1 : 0);
