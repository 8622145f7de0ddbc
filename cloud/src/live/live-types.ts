/**
 * The socket.io types of the live namespace, from the wire contract (@bitvelocity/api): what
 * clients may emit, what the server emits, and what each socket carries. The server's read
 * models are readonly, so it emits the contract's payloads as `Wire<…>` (deeply readonly);
 * the shapes are the same ones the dashboard receives.
 */
import type { ClientToServerEvents, ServerToClientEvents, SubscribeReply, Wire } from "@bitvelocity/api";
import type { DefaultEventsMap, Server, Socket } from "socket.io";
import type { User } from "../identity/index.js";

/** ServerToClientEvents with readonly payloads. */
export type LiveEmits = { [K in keyof ServerToClientEvents]: (payload: Wire<Parameters<ServerToClientEvents[K]>[0]>) => void };

/**
 * Domain events relayed between cloud nodes (cluster-bridge.ts, `bv:<event>`): between our own
 * nodes, not part of the browser contract, and relayed by one loop over a list of names, which
 * socket.io's typings cannot follow; so left untyped here and typed by CloudEvents at each end.
 */
export type RelayEvents = DefaultEventsMap;

export interface LiveSocketData {
  user: User;
}

export type LiveServer = Server<ClientToServerEvents, LiveEmits, RelayEvents, LiveSocketData>;
export type LiveSocket = Socket<ClientToServerEvents, LiveEmits, RelayEvents, LiveSocketData>;
export type { SubscribeReply };
