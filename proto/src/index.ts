export * from "./gen/edge_sync.js";
