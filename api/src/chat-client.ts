/**
 * The browser-safe part of the chat contract (`@bitvelocity/api/chat-client`): delivery order and
 * text segmentation, without zod, for the dashboard bundle.
 */
export * from "./chat-stream.js";
export * from "./chat-text.js";
