// The cloud of bench/commerce-checkout.mjs as a process of its own: starts it from the JSON
// configuration overrides in argv[2], prints {"port": N} once it listens, and stops cleanly on
// SIGTERM (so `node --cpu-prof` writes its profile).
import { loadCloudConfig, startCloud } from "@bitvelocity/cloud";
import { silentLogger } from "@bitvelocity/common";

const overrides = JSON.parse(process.argv[2] ?? "{}");
const cloud = await startCloud(loadCloudConfig(undefined, {}, overrides), { logger: silentLogger(), processMetrics: false });
process.stdout.write(`${JSON.stringify({ port: cloud.ports.http })}\n`);
process.once("SIGTERM", async () => {
  await cloud.stop();
  process.exit(0);
});
