import { silentLogger } from "/work/wt/broker/common/dist/index.js";
import { MqttBroker } from "/work/wt/broker/edge/dist/broker/broker.js";
import { failures, loadVectors, runVectors, table } from "/work/wt/broker/edge/dist/broker/conformance/index.js";
import { defaultBrokerLimits } from "/work/wt/broker/edge/dist/broker/limits.js";
import { openPolicy } from "/work/wt/broker/edge/dist/broker/policy.js";
import { Registry } from "/work/wt/broker/node_modules/prom-client/index.js";

const sink = { append: async () => {}, deadLetter: async () => {} };
const b = new MqttBroker({
  host: "127.0.0.1",
  port: 0,
  wsPort: null,
  devices: [],
  sink,
  registry: new Registry(),
  logger: silentLogger(),
  policy: openPolicy,
  limits: { ...defaultBrokerLimits, max_client_id_length: 65535 },
});
const ports = await b.start();
const vers = (process.argv[2] ?? "3,4").split(",").map(Number);
const tests = loadVectors("/work/shared/conformance/mqtt").filter((t) => vers.includes(t.ver));
const t0 = Date.now();
const results = await runVectors({ host: "127.0.0.1", port: ports.mqtt }, tests, { timeoutMs: Number(process.env.TMO ?? 1000) });
console.log(table([{ name: "ours", results }]));
console.log(failures(results).join("\n"));
console.log("ms", Date.now() - t0);
await b.stop();
process.exit(0);
