/**
 * The chat module: rooms (site, order, direct), messages with a per-room seq, delivery on the
 * `/chat` socket.io namespace with resume, the bot that posts what happens, and ChatOps.
 */
import { type CloudModule, type ModuleContext, started } from "../platform/module.js";
import { ChatBot } from "./bot.js";
import { ChatService } from "./chat-service.js";
import { ChatSocketServer } from "./chat-socket.js";
import { ChatStore } from "./chat-store.js";
import { ChatOps } from "./chatops.js";
import { Membership } from "./membership.js";
import { chatMigrations } from "./migrations.js";
import { PendingCommands } from "./pending-commands.js";
import type { ChatPorts } from "./ports.js";
import { chatRouter } from "./routes.js";

export type { ChatPorts } from "./ports.js";

export interface ChatModule extends CloudModule {
  readonly service: ChatService;
  readonly sockets: ChatSocketServer;
}

export function chatModule(ports: ChatPorts): ChatModule {
  let parts: { service: ChatService; sockets: ChatSocketServer; bot: ChatBot; ops: ChatOps } | undefined;
  const get = () => started(parts, "chat", "the chat service");
  return {
    name: "chat",
    migrations: chatMigrations,
    publishes: [],
    consumes: [
      "alertUpdated",
      "edgeConnected",
      "edgeDisconnected",
      "gapRecorded",
      "lowStockDetected",
      "orderPlaced",
      "orderProgressed",
      "orderConfirmed",
      "orderCancelled",
      "commandUpdated",
    ],
    async start(ctx: ModuleContext) {
      const store = new ChatStore(ctx.db);
      const service = new ChatService(store, ports, Membership.fromUsers(ctx.config.users));
      // A room per configured site exists from the start (sites come from the config).
      for (const site of ctx.config.sites)
        await store.ensureRoom({ id: `site:${site.id}`, kind: "site", name: site.name, siteId: site.id });
      const { sessions, tokens } = ports.auth();
      const sockets = new ChatSocketServer(ports.io(), service, { sessions, tokens, logger: ctx.logger });
      service.deliverTo(sockets);
      const ops = new ChatOps(service, ports, ctx.audit, ctx.bus, new PendingCommands(ctx.db));
      service.runCommandsWith(ops.run);
      const bot = new ChatBot(service, ctx.bus, ports.directory, ports.orders);
      bot.start();
      // Set before resuming: a failed resume aborts the start, and stop() then closes what started.
      parts = { service, sockets, bot, ops };
      // The results of commands sent from chat before this start (posted now, or when they arrive).
      const resumed = await ops.start();
      if (resumed > 0) ctx.logger.info({ resumed }, "posted the results of chat commands that finished while the cloud was down");
    },
    routes: () => chatRouter(() => get().service),
    async stop() {
      const p = parts;
      parts = undefined;
      p?.bot.stop();
      p?.ops.stop();
      await p?.sockets.close();
    },
    get service() {
      return get().service;
    },
    get sockets() {
      return get().sockets;
    },
  };
}
