export { Outbox, type OutboxClock, type OutboxOptions } from "./outbox.js";
export type * from "./types.js";
