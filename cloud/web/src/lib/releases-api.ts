/** The releases API (api/src/releases.ts): publish, list, roll out, and each edge's update state. */
import type { EdgeUpdate, Release, Rollout } from "@bitvelocity/api";
import { query, request } from "./api.js";

export const releasesApi = {
  list: () => request<{ releases: Release[]; publicKey: string }>("GET", "/api/releases"),
  publish: (file: Blob, p: { version: string; arch: string; healthDeadlineS?: number }) =>
    request<{ release: Release }>("POST", `/api/releases${query(p)}`, file),
  rollout: (id: string, rollout: Rollout) =>
    request<{ release: Release; offered: number }>("POST", `/api/releases/${encodeURIComponent(id)}/rollout`, rollout),
  edgeUpdates: () => request<{ edges: EdgeUpdate[] }>("GET", "/api/edge-updates"),
};

/** How each update state is shown. */
export const UPDATE_TONE = {
  offered: "info",
  downloading: "info",
  installed: "warn",
  healthy: "ok",
  refused: "bad",
  "rolled-back": "bad",
  failed: "bad",
} as const;
