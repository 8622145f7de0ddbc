// MQTT conformance pass counts per vector file and protocol version: our edge broker (pre-parser
// + aedes 1.x, open access policy, default limits except client id length) next to Mosquitto
// on 127.0.0.1:1883, and, when BENCH_AEDES2_DIR points at a scratch install of aedes 2 beta
// (`npm install aedes@2.0.0-beta.1` in a directory outside the repo), plain aedes 2 for the MQTT 5
// evaluation. Writes the section "MQTT conformance" of bench/RESULTS.md.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { conformance, machine, ROOT, startOpenBroker } from "./broker-lib.mjs";
import { replaceSection, resultsFile } from "./lib.mjs";

const { failures, loadVectors, runTest, runVectors, table, tally } = await conformance();
const tests = loadVectors(join(ROOT, "test/conformance/mqtt"));
const timeoutMs = Number(process.env.BENCH_CONFORMANCE_TIMEOUT_MS ?? 500);
const at = machine();

const brokers = [];
const ours = await startOpenBroker({ max_client_id_length: 65_535 });
brokers.push({ name: "edge broker", results: await runVectors({ host: "127.0.0.1", port: ours.port }, tests, { timeoutMs }) });
await ours.broker.stop();
brokers.push({ name: "Mosquitto (127.0.0.1:1883)", results: await runVectors({ host: "127.0.0.1", port: 1883 }, tests, { timeoutMs }) });

const crashes = [];
if (process.env.BENCH_AEDES2_DIR) {
  // Plain aedes 2 runs in a child process: a vector that crashes it is recorded, and it restarts.
  const dir = process.env.BENCH_AEDES2_DIR;
  const version = JSON.parse(readFileSync(join(dir, "node_modules/aedes/package.json"), "utf8")).version;
  const script = `import { Aedes } from ${JSON.stringify(join(dir, "node_modules/aedes/aedes.js"))};
    import { createServer } from "node:net";
    const aedes = await Aedes.createBroker({});
    const server = createServer((s) => aedes.handle(s));
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  let child;
  let childPort;
  const spawnBroker = async () => {
    child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.on("data", () => undefined);
    child.exited = new Promise((r) => child.once("exit", r));
    childPort = await new Promise((resolve, reject) => {
      child.stdout.once("data", (d) => resolve(Number(d.toString().trim())));
      child.once("exit", (code) => reject(new Error(`aedes 2 did not start (exit ${code})`)));
    });
  };
  await spawnBroker();
  const results = [];
  for (const test of tests) {
    results.push(await runTest({ host: "127.0.0.1", port: childPort }, test, { timeoutMs }));
    if (process.env.BENCH_VERBOSE) console.error(test.file, test.name, child.exitCode);
    if (child.exitCode !== null || child.signalCode !== null) {
      crashes.push(`${test.file} · ${test.group} · ${test.name}`);
      await spawnBroker();
    }
  }
  child.kill();
  brokers.push({ name: `plain aedes ${version}`, results });
}

const totals = brokers
  .map((b) => {
    const t = tally(b.results);
    const v = (ver) => t.get(`TOTAL|${ver}`) ?? { pass: 0, total: 0 };
    return `| ${b.name} | ${v(3).pass + v(4).pass}/${v(3).total + v(4).total} | ${v(5).pass}/${v(5).total} |`;
  })
  .join("\n");
const body = `Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${at}
Command: \`node bench/conformance.mjs\` (CI: \`test/conformance/broker-conformance.test.ts\`, table in test-artifacts/mqtt-conformance.md).
Vectors: test/conformance/mqtt (Eclipse Mosquitto test data, see its README), one connection per test, in order, ${timeoutMs} ms per expected packet.
Mosquitto on this machine is 2.0.11; the vectors come from a newer Mosquitto, so it fails some of them itself.

| broker | MQTT 3.1 + 3.1.1 | MQTT 5 |
|---|---|---|
${totals}

${table(brokers)}

${process.env.BENCH_AEDES2_DIR ? `Plain aedes 2 beta crashed (uncaught exception, process exit) ${crashes.length} time(s), restarted each time; first vectors that crashed it: ${crashes.slice(0, 5).join("; ") || "none"}.\n\n` : ""}MQTT 5 decision: the edge broker refuses MQTT 5 (CONNACK 0x01, then close), so it passes only the v5 vectors that expect a refusal or a close. aedes 2 beta, measured as shipped, does not reach a majority of the v5 vectors and crashes on some malformed v5 input; closing that gap would take a v5 pre-parser and patches far beyond a small layer, so MQTT 5 stays refused until the aedes 2 line is stable (see edge/README.md, "The MQTT broker").

Edge broker failures (3.1/3.1.1): ${failures(brokers[0].results.filter((r) => r.test.ver !== 5)).length}, all listed in test-artifacts/mqtt-conformance.md by the CI test.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "MQTT conformance", body));
process.stdout.write(`${body}\n`);
process.exit(0);
