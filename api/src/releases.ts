/**
 * Signed agent releases and their staged rollout (edge/deploy/README.md, docs/edge-sync.md): an
 * admin uploads the bv-edge package built by package.mjs for one architecture; the cloud stores it,
 * computes its size and SHA-256 and signs the release manifest with its ed25519 release key. A
 * release is offered first to the edges a rollout selects (sites, and/or a stable percentage of
 * the fleet), then wider, and each edge reports where its update stands.
 */
import { z } from "zod";
import { EpochMs, route } from "./common.js";

export const RELEASE_ARCHES = ["arm64", "armhf", "amd64"] as const;
export const ReleaseArch = z.enum(RELEASE_ARCHES, "expected arm64, armhf or amd64");
/** A Debian version as package.mjs writes it (e.g. 0.2.0 or 0.2.0+node20.20.2). */
export const RELEASE_VERSION_PATTERN = /^[0-9][0-9A-Za-z.+~-]{0,63}$/;

export const UpdateState = z.enum(["offered", "downloading", "refused", "installed", "healthy", "rolled-back", "failed"]);
export type UpdateState = z.infer<typeof UpdateState>;

export const Rollout = z.object({
  /** Every edge of these sites gets the release. */
  sites: z.array(z.string()),
  /** And this share of all edges, chosen stably (the same edges whatever the order they connect in). */
  percent: z.number().int().min(0).max(100),
});
export type Rollout = z.infer<typeof Rollout>;

export const Release = z.object({
  id: z.string(),
  version: z.string(),
  arch: ReleaseArch,
  size: z.number().int(),
  sha256: z.string(),
  /** base64 ed25519 signature of the manifest "bv-edge-release/v1\n{version}\n{arch}\n{size}\n{sha256}\n". */
  signature: z.string(),
  healthDeadlineS: z.number().int(),
  rollout: Rollout,
  createdBy: z.string(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  /** Edges that report this version healthy, and the ones that refused or rolled it back. */
  healthy: z.number().int(),
  failed: z.number().int(),
});
export type Release = z.infer<typeof Release>;

/** Where one edge's agent update stands. */
export const EdgeUpdate = z.object({
  edgeId: z.string(),
  siteId: z.string(),
  arch: z.string(),
  runningVersion: z.string(),
  /** The release the state is about (empty: none offered yet). */
  version: z.string(),
  state: UpdateState.nullable(),
  error: z.string(),
  updatedAt: EpochMs.nullable(),
});
export type EdgeUpdate = z.infer<typeof EdgeUpdate>;

export const PublishReleaseQuery = z.object({
  version: z.string("expected a version").regex(RELEASE_VERSION_PATTERN, "expected a package version like 0.2.0"),
  arch: ReleaseArch,
  healthDeadlineS: z
    .string()
    .regex(/^\d+$/, "expected whole seconds")
    .transform(Number)
    .pipe(z.number().int().min(10, "expected 10 to 3600 seconds").max(3600, "expected 10 to 3600 seconds"))
    .optional(),
});

export const RolloutBody = z.strictObject({
  sites: z.array(z.string().min(1).max(64)).max(1000),
  percent: z.number("expected 0 to 100").int("expected 0 to 100").min(0, "expected 0 to 100").max(100, "expected 0 to 100"),
});
export type RolloutBody = z.infer<typeof RolloutBody>;

export const releaseRoutes = {
  publish: route({
    method: "post",
    path: "/api/releases",
    summary: "Publish an agent release: the body is the bv-edge .deb; the cloud signs it (admin)",
    role: "admin",
    query: PublishReleaseQuery,
    status: 201,
    response: z.object({ release: Release }),
  }),
  list: route({
    method: "get",
    path: "/api/releases",
    summary: "Agent releases, newest first, with their rollout (admin)",
    role: "admin",
    status: 200,
    response: z.object({ releases: z.array(Release), publicKey: z.string() }),
  }),
  rollout: route({
    method: "post",
    path: "/api/releases/:id/rollout",
    summary: "Choose which edges get a release: sites and a stable percentage of the fleet (admin)",
    role: "admin",
    body: RolloutBody,
    status: 200,
    response: z.object({ release: Release, offered: z.number().int() }),
  }),
  edgeUpdates: route({
    method: "get",
    path: "/api/edge-updates",
    summary: "Each edge's agent version and update state",
    status: 200,
    response: z.object({ edges: z.array(EdgeUpdate) }),
  }),
};
