// `npm start`: the whole system on embedded defaults — cloud, edge and a simulated fleet —
// until Ctrl-C. Ports and the data folder come from BV_* variables (see README.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generateSecret } from "@bitvelocity/common";
import { BINS, checkPortFree, prepareSystem, ROOT, spawnService, startCloud, startEdge, startSim } from "./system.mjs";

const PORTS = [
  { key: "http", env: "BV_HTTP_PORT", def: 8080, what: "cloud HTTP (dashboard, API)" },
  { key: "grpc", env: "BV_GRPC_PORT", def: 50051, what: "cloud gRPC (EdgeSync)" },
  { key: "mqtt", env: "BV_MQTT_PORT", def: 1883, what: "edge MQTT broker" },
  { key: "mqttWs", env: "BV_MQTT_WS_PORT", def: 8083, what: "edge MQTT over WebSocket" },
  { key: "edgeHttp", env: "BV_EDGE_HTTP_PORT", def: 8081, what: "edge HTTP (/healthz, /metrics)" },
  { key: "payments", env: "BV_PAYMENTS_PORT", def: 8090, what: "payment provider simulator (bv-sim payments)" },
  { key: "carrier", env: "BV_CARRIER_PORT", def: 8091, what: "shipping carrier simulator (bv-sim carrier, SOAP)" },
];

function parsePort(p) {
  const raw = process.env[p.env];
  if (raw === undefined || raw === "") return p.def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`bv demo: ${p.env}=${raw} is not a port number (1-65535)`);
    process.exit(1);
  }
  return n;
}

async function main() {
  const ports = Object.fromEntries(PORTS.map((p) => [p.key, parsePort(p)]));
  const busy = [];
  for (const p of PORTS) {
    try {
      await checkPortFree(ports[p.key]);
    } catch (err) {
      busy.push({ ...p, port: ports[p.key], code: err.code });
    }
  }
  if (busy.length > 0) {
    for (const b of busy) {
      console.error(
        `bv demo: port ${b.port} for the ${b.what} is ${b.code === "EADDRINUSE" ? "already in use" : `unavailable (${b.code})`}.`,
      );
      console.error(`         Pick another with ${b.env}, e.g.  ${b.env}=${b.port + 10000} npm start`);
    }
    if (busy.some((b) => b.key === "mqtt" && b.port === 1883)) {
      console.error("         (1883 is the standard MQTT port; another broker such as Mosquitto may be running there.)");
    }
    process.exit(1);
  }

  const dir = resolve(process.env.BV_DATA_DIR ?? join(ROOT, ".bv-data"));
  mkdirSync(dir, { recursive: true });
  // Credentials are generated once and kept in the data folder, so the login stays the same across runs.
  const secretsFile = join(dir, "demo-secrets.json");
  const secrets = existsSync(secretsFile)
    ? JSON.parse(readFileSync(secretsFile, "utf8"))
    : { edgeToken: generateSecret(), adminPassword: generateSecret(9), fleetSecret: generateSecret() };
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });

  const prepared = prepareSystem({
    dir,
    ports,
    secrets,
    cloudOverrides: {
      http: { host: "0.0.0.0", port: ports.http },
      grpc: { host: "127.0.0.1", port: ports.grpc },
      commerce: { payments_url: `http://127.0.0.1:${ports.payments}`, carrier_url: `http://127.0.0.1:${ports.carrier}/carrier` },
      // The demo's simulator may add devices the edge did not declare; production configs keep the default, reject.
      ingest: { undeclared_devices: "auto-register" },
    },
    edgeOverrides: {},
  });
  const verbose = process.env.BV_DEMO_LOGS === "1";
  let stopping = false;
  // The shop's payment provider: the simulator, started before the cloud that calls it.
  const payments = spawnService({
    name: "payments",
    bin: BINS.sim,
    args: ["payments", "--port", String(ports.payments), "--latency", "20"],
    listeners: ["http"],
    inheritOutput: verbose,
  });
  // The shipping carrier (SOAP): confirmed orders with devices or consumables get a label from it.
  const carrier = spawnService({
    name: "carrier",
    bin: BINS.sim,
    args: ["carrier", "--port", String(ports.carrier), "--latency", "50"],
    listeners: ["http"],
    inheritOutput: verbose,
  });
  const cloud = startCloud(prepared, { inheritOutput: verbose });
  const services = [payments, carrier, cloud];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop();
  };
  try {
    await payments.ready;
    await carrier.ready;
    const cp = await cloud.ready;
    const edge = startEdge(prepared, cp.grpc, { inheritOutput: verbose });
    services.push(edge);
    const ep = await edge.ready;
    const sim = startSim(prepared, ep.mqtt, { args: ["--quiet"], inheritOutput: verbose });
    services.push(sim);
    console.log(`
BitVelocity IoT demo is running (data in ${dir})

  Dashboard   https://localhost:${cp.http}/
  Login       admin / ${secrets.adminPassword}
  Cloud API   https://localhost:${cp.http}/api   metrics https://localhost:${cp.http}/metrics
  Edge MQTT   mqtt://localhost:${ep.mqtt}   (WebSocket ws://localhost:${ep.ws ?? ports.mqttWs})
  Edge health http://localhost:${ep.http}/healthz   metrics http://localhost:${ep.http}/metrics
  Payments    http://localhost:${ports.payments}/ledger   (bv-sim payments; the Shop page checks out through it)
  Carrier     http://localhost:${ports.carrier}/carrier?wsdl   shipments http://localhost:${ports.carrier}/shipments   (bv-sim carrier, SOAP)
  Fleet       ${prepared.devices.length} simulated devices (${[...new Set(prepared.devices.map((d) => d.deviceType))].join(", ")})

Logs: BV_DEMO_LOGS=1 npm start.  Stop: Ctrl-C.
`);
    for (const s of services) {
      void s.exited.then(({ code, signal }) => {
        if (!stopping) {
          console.error(
            `bv demo: ${s.name} stopped unexpectedly (code ${code}, signal ${signal}). Last output:\n${s.logs().split("\n").slice(-15).join("\n")}`,
          );
          void shutdown(1);
        }
      });
    }
  } catch (err) {
    console.error(`bv demo: ${err.message}`);
    await stopAll();
    process.exit(1);
  }
  async function shutdown(code = 0) {
    if (stopping) return;
    stopping = true;
    console.log("bv demo: stopping…");
    await stopAll();
    process.exit(code);
  }
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
}

await main();
