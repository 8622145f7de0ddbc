// Ports nobody listens on yet, for peers that start later (the cloud after an outage, an edge
// restarted on the same ports): picked below the ephemeral port range (common/src/test-services.ts).
export { freePort, freePorts } from "@bitvelocity/common/test-services";
