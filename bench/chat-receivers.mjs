// The receivers of bench/chat-delivery.mjs, in their own process: N socket.io clients on /chat,
// client i following room i % rooms. Messages carry their send time (`t=<ms>`); on "stop" (stdin)
// it prints delivered count and send → delivered latency percentiles as one JSON line.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [base, cookie, count, rooms] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
let measuring = false;
let delivered = 0;
const latencies = [];

async function connectOne(i) {
  const s = io(`${base}/chat`, { extraHeaders: { cookie }, transports: ["websocket"], forceNew: true });
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  s.on("message", (m) => {
    if (!measuring) return;
    const sent = Number(/^t=(\d+)/.exec(m.text)?.[1]);
    if (!sent) return;
    delivered++;
    latencies.push(Date.now() - sent);
  });
  const room = `site:site-${(i % rooms) + 1}`;
  const reply = await s.timeout(60_000).emitWithAck("sync", { roomId: room, after: 0, limit: 1 });
  if (!reply.ok) throw new Error(`sync ${room}: ${reply.error.message}`);
  return s;
}

const sockets = [];
for (let i = 0; i < count; i += 20) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, k) => connectOne(i + k)))));
}
process.stdout.write(`${JSON.stringify({ ready: sockets.length })}\n`);
let t0 = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "start") {
    measuring = true;
    t0 = Date.now();
  } else if (line === "stop") {
    measuring = false;
    const seconds = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
    process.stdout.write(
      `${JSON.stringify({ delivered, rate: delivered / seconds, n: latencies.length, p50: p(0.5), p99: p(0.99), max: latencies.at(-1) ?? null })}\n`,
    );
    for (const s of sockets) s.close();
    process.exit(0);
  }
}
