/**
 * What chat needs from other domains, filled in main.ts (chat imports no other domain). Each is
 * a function so main.ts can hand over a module's service before that module has started.
 */
import type { Server } from "socket.io";
import type { ApiTokenStore, SessionStore, User } from "../identity/index.js";
import type { AlertView, CommandView, DeviceSummary, EdgeSummary, Value } from "../platform/events.js";

/** The fleet read model, as far as chat uses it (sites of devices and edges, /status). */
export interface ChatDirectory {
  device(id: string): DeviceSummary | undefined;
  edge(id: string): EdgeSummary | undefined;
  edges(): readonly EdgeSummary[];
  sites(): readonly { readonly id: string; readonly name: string }[];
}

/** The alert actions ChatOps calls (the alerts service: same state rules as the dashboard's buttons). */
export interface ChatAlerts {
  /** An alert by id, or by an id prefix of at least 6 characters that names exactly one. */
  find(idOrPrefix: string): Promise<AlertView | undefined>;
  acknowledge(id: string, by: string): Promise<AlertView>;
  resolve(id: string, by: string): Promise<AlertView>;
}

/** Sending a command (fleet's command service: the same catalog validation as the dashboard's form). */
export interface ChatCommands {
  create(input: { deviceId: string; name: string; params: Record<string, Value>; requestedBy: string }): Promise<CommandView>;
  /** A command's current state (ChatOps resumes the commands it waits for after a restart). */
  get(id: string): Promise<CommandView | undefined>;
}

/** An order as far as chat needs it (commerce's order read model): its site and who placed it. */
export interface ChatOrder {
  readonly id: string;
  readonly siteId: string;
  readonly placedBy: string;
}

/** Commerce's order read model, for order rooms whose order chat has not heard of (placed before chat listened). */
export interface ChatOrders {
  order(id: string): Promise<ChatOrder | undefined>;
}

export interface ChatPorts {
  /** Who a socket is (identity's stores). */
  readonly auth: () => { readonly sessions: SessionStore; readonly tokens: ApiTokenStore };
  /** Who exists (for @mentions and direct rooms). */
  readonly users: () => { find(username: string): Promise<User | undefined> };
  /** The cloud's socket.io server (the live module owns it, and its Redis adapter joins the nodes). */
  readonly io: () => Server;
  readonly directory: () => ChatDirectory;
  readonly alerts: () => ChatAlerts;
  readonly commands: () => ChatCommands;
  readonly orders: () => ChatOrders;
}
