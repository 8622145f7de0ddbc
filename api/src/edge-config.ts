/**
 * Remote configuration of an edge (docs/edge-sync.md, config lane): versioned YAML documents in
 * the edge config's schema, laid over the edge's file. Secrets are masked (`********`) in every
 * answer; a masked value sent back keeps the stored secret. Admin only.
 */
import { z } from "zod";
import { EpochMs, route } from "./common.js";

export const EdgeConfigState = z.enum(["pending", "applied", "rejected", "rolled-back"]);
export type EdgeConfigState = z.infer<typeof EdgeConfigState>;

/** One version as the history shows it (no document). */
export const EdgeConfigVersion = z.object({
  version: z.number().int().min(1),
  author: z.string(),
  createdAt: EpochMs,
  state: EdgeConfigState,
  /** Why the edge rejected or rolled it back; one problem per entry. */
  problems: z.array(z.string()),
  /** When the edge reported on it; null while pending. */
  reportedAt: EpochMs.nullable(),
  /** Applied by a controlled restart of the agent rather than hot. */
  restarted: z.boolean(),
});
export type EdgeConfigVersion = z.infer<typeof EdgeConfigVersion>;

export const EdgeConfigView = z.object({
  edgeId: z.string(),
  /** The latest version with its document (secrets masked); null before the first. */
  latest: EdgeConfigVersion.extend({ yaml: z.string() }).nullable(),
  /** The version the edge says it runs (0: its file alone; null: it has not said yet). */
  runningVersion: z.number().int().nullable(),
  /** Newest first. */
  versions: z.array(EdgeConfigVersion),
});
export type EdgeConfigView = z.infer<typeof EdgeConfigView>;

export const SaveEdgeConfigBody = z.strictObject({
  yaml: z.string().max(512 * 1024, "at most 512 KiB"),
  /** The version the editor started from: refused with 409 when another version was saved since. */
  baseVersion: z.number().int().min(0).optional(),
});
export type SaveEdgeConfigBody = z.infer<typeof SaveEdgeConfigBody>;

export const edgeConfigRoutes = {
  edgeConfig: route({
    method: "get",
    path: "/api/edges/:id/config",
    summary: "The edge's remote configuration: latest version (secrets masked), the version it runs, the history (admin)",
    role: "admin",
    status: 200,
    response: EdgeConfigView,
  }),
  saveEdgeConfig: route({
    method: "post",
    path: "/api/edges/:id/config",
    summary:
      "Save a new configuration version (admin, audited with a diff): checked with the edge config schema (422 lists every problem), then sent to the edge",
    role: "admin",
    body: SaveEdgeConfigBody,
    status: 201,
    response: z.object({ version: EdgeConfigVersion, view: EdgeConfigView }),
  }),
};
