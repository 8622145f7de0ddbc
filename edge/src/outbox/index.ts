export { decodeControlBody, encodeControlBody } from "./control-body.js";
export { CLOCK_TRUSTED_AFTER_MS, DEFAULT_LANES, Outbox, type OutboxClock, type OutboxOptions } from "./outbox.js";
export type { FullPolicy, LanePolicy } from "./retention.js";
export type * from "./types.js";
