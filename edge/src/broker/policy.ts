/**
 * Who may connect, publish and subscribe is a pluggable policy. The production policy is the
 * per-device one (hooks.ts, DESIGN.md §3 promise 10) and it is the only one reachable from the
 * config. The open policy exists for conformance and fuzz runs of the real broker code path
 * (same pre-parser, same limits); it is chosen in code, never by configuration.
 */
import type { AedesOptions } from "aedes";
import type { DirectPublish } from "./guard/direct.js";
import { createHooks, type HookDeps } from "./hooks.js";

/** aedes' hooks, and optionally the PUBLISHes the policy handles without aedes (guard/direct.ts). */
export type BrokerHooks = Required<Pick<AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe">> & {
  readonly direct?: DirectPublish;
};

export type AccessPolicy = (deps: HookDeps) => BrokerHooks;

export const devicePolicy: AccessPolicy = createHooks;

export const openPolicy: AccessPolicy = () => ({
  authenticate: (_client, _username, _password, done) => done(null, true),
  authorizePublish: (_client, _packet, done) => done(null),
  authorizeSubscribe: (_client, subscription, done) => done(null, subscription),
});
