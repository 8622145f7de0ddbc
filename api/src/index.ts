/**
 * @bitvelocity/api — the wire contract between the cloud and its clients (DESIGN.md §4):
 * REST request/response schemas as zod schemas (the server validates every body and query with
 * them; the dashboard imports their inferred types) and the socket.io event maps per namespace.
 * One file per domain; this index re-exports them all.
 */
export * from "./common.js";
