// Chat delivery and history (issue 14): a cloud process with 100 site rooms; BENCH_CHAT_CLIENTS
// receivers (default 1000, in bench/chat-receivers.mjs) each following one room; 20 senders
// posting BENCH_CHAT_RATE messages/s in total (default 200) over /chat for BENCH_SECONDS; then
// the history query (a page of 50 by seq) against a SQLite chat store holding
// BENCH_CHAT_HISTORY messages (default 1,000,000). Writes the "Chat" section of bench/RESULTS.md.
//
//   node bench/chat-delivery.mjs        (after npm run build)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";
import { prepareSystem, ROOT, startCloud } from "../scripts/system.mjs";
import { machine, percentile, procSample, replaceSection, resultsFile } from "./lib.mjs";

const CLIENTS = Number(process.env.BENCH_CHAT_CLIENTS ?? 1000);
const ROOMS = 100;
const RATE = Number(process.env.BENCH_CHAT_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const HISTORY = Number(process.env.BENCH_CHAT_HISTORY ?? 1_000_000);
const SENDERS = 20;
const load = loadavg()[0].toFixed(1);

const dir = mkdtempSync(join(tmpdir(), "bv-bench-chat-"));
const senders = Array.from({ length: SENDERS }, (_, i) => ({ username: `sender${i}`, role: "operator", password: `sender-password-${i}` }));
const prepared = prepareSystem({
  dir,
  extraUsers: senders,
  cloudOverrides: { sites: Array.from({ length: ROOMS }, (_, i) => ({ id: `site-${i + 1}`, name: `Plant ${i + 1}` })) },
});
const cloud = startCloud(prepared);
const { http } = await cloud.ready;
const base = `http://127.0.0.1:${http}`;

async function login(username, password) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

const adminCookie = await login("admin", prepared.secrets.adminPassword);
const receivers = spawn(process.execPath, [join(ROOT, "bench/chat-receivers.mjs"), base, adminCookie, String(CLIENTS), String(ROOMS)], {
  stdio: ["pipe", "pipe", "inherit"],
});
const lines = createInterface({ input: receivers.stdout });
const nextLine = () => new Promise((resolve) => lines.once("line", (l) => resolve(JSON.parse(l))));
const ready = await nextLine();
console.error(`receivers connected: ${ready.ready}`);

const sockets = [];
for (const s of senders) {
  const socket = io(`${base}/chat`, {
    extraHeaders: { cookie: await login(s.username, s.password) },
    transports: ["websocket"],
    forceNew: true,
  });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  sockets.push(socket);
}

const before = procSample(cloud.child.pid);
receivers.stdin.write("start\n");
const t0 = Date.now();
let sent = 0;
let failed = 0;
const acks = [];
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, procSample(cloud.child.pid).rssMb);
}, 500);
await new Promise((resolve) => {
  const tick = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (sent < due) {
      const i = sent++;
      const socket = sockets[i % SENDERS];
      const at = Date.now();
      socket
        .timeout(10_000)
        .emitWithAck("send", { roomId: `site:site-${(i % ROOMS) + 1}`, clientId: `b-${i}`, text: `t=${at} message ${i}` })
        .then((r) => {
          if (!r.ok) failed++;
          acks.push(Date.now() - at);
        })
        .catch(() => failed++);
    }
    if (Date.now() - t0 >= SECONDS * 1000) {
      clearInterval(tick);
      resolve();
    }
  }, 5);
});
await new Promise((r) => setTimeout(r, 2000));
clearInterval(sampler);
const after = procSample(cloud.child.pid);
receivers.stdin.write("stop\n");
const delivery = await nextLine();
const cpu = Math.round(((after.cpuMs - before.cpuMs) / ((Date.now() - t0) * 1)) * 100);
for (const s of sockets) s.close();
await cloud.stop();
acks.sort((a, b) => a - b);

// History at HISTORY stored messages: the chat store on SQLite, filled in bulk.
const { openDatabase } = await import("../cloud/dist/platform/database.js");
const { chatMigrations } = await import("../cloud/dist/chat/migrations.js");
const { ChatStore } = await import("../cloud/dist/chat/chat-store.js");
const hdir = join(dir, "history");
const db = await openDatabase(hdir, [{ name: "chat", migrations: chatMigrations }]);
await db.destroy();
const { default: Sqlite } = await import("better-sqlite3");
const native = new Sqlite(join(hdir, "cloud.db"));
native.pragma("journal_mode = WAL");
const HOT = "site:hot";
const fill0 = Date.now();
native
  .prepare("insert into chat_rooms (id, kind, name, member_a, member_b, last_seq, created_at) values (?, 'site', 'Hot', null, null, ?, ?)")
  .run(HOT, HISTORY, Date.now());
const insert = native.prepare(
  "insert into chat_messages (room_id, seq, rev, client_id, author, kind, text, mentions, created_at, edited_at, deleted) values (?, ?, ?, ?, 'alice', 'user', ?, '[]', ?, null, 0)",
);
const fill = native.transaction((from, to) => {
  for (let s = from; s <= to; s++)
    insert.run(HOT, s, s, `h-${s}`, `message number ${s} with some ordinary text in it`, 1_700_000_000_000 + s);
});
for (let s = 1; s <= HISTORY; s += 100_000) fill(s, Math.min(HISTORY, s + 99_999));
native.close();
const fillSeconds = ((Date.now() - fill0) / 1000).toFixed(1);
const reopened = await openDatabase(hdir, [{ name: "chat", migrations: chatMigrations }]);
const store = new ChatStore(reopened);
const pages = [];
for (let i = 0; i < 1000; i++) {
  const beforeSeq = i === 0 ? undefined : 51 + Math.floor(Math.random() * (HISTORY - 50));
  const q0 = process.hrtime.bigint();
  const page = await store.history(HOT, beforeSeq, 50);
  pages.push(Number(process.hrtime.bigint() - q0) / 1e6);
  if (page.messages.length !== 50) throw new Error(`a page had ${page.messages.length} messages`);
}
await reopened.destroy();
pages.sort((a, b) => a - b);
rmSync(dir, { recursive: true, force: true });

const expected = sent * (CLIENTS / ROOMS);
const body = `
Date: ${new Date().toISOString().slice(0, 10)} · Machine: ${machine()} · Load average at start: ${load} (2 cores shared with other work)
Command: \`BENCH_CHAT_CLIENTS=${CLIENTS} BENCH_CHAT_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_CHAT_HISTORY=${HISTORY} node bench/chat-delivery.mjs\` (cloud as its own process on SQLite; receivers in a second process, senders in the driver)

| figure | value |
|---|---|
| connected receivers × rooms | ${ready.ready} sockets on /chat, ${ROOMS} rooms (${CLIENTS / ROOMS} per room) |
| messages sent (offered ${RATE}/s for ${SECONDS} s) | ${sent}, refused or lost acks: ${failed} |
| deliveries received / expected | ${delivery.delivered} / ${expected} |
| send → delivered, p50 / p99 / max (n=${delivery.n}) | **${delivery.p50} ms / ${delivery.p99} ms** / ${delivery.max} ms |
| send → ack (stored), p50 / p99 | ${percentile(acks, 50)} ms / ${percentile(acks, 99)} ms |
| cloud CPU over the run / peak RSS | ${cpu} % of one core / ${peakRss} MB |
| history page (50 by seq) at ${HISTORY.toLocaleString("en")} messages in one room, p50 / p99 (1,000 random pages, ChatStore on SQLite) | **${percentile(pages, 50).toFixed(2)} ms / ${percentile(pages, 99).toFixed(2)} ms** (bulk fill ${fillSeconds} s) |

Targets (issue 14): delivery p99 ≤ 50 ms; a history page p99 ≤ 10 ms. Latency is measured on one clock (the send
time travels in the message text). The history figure is the store's query (primary key (room_id, seq)), not HTTP.
`;
const file = resultsFile();
writeFileSync(file, replaceSection(readFileSync(file, "utf8"), "Chat", body));
console.log(body);
process.exit(0);
