/**
 * What the releases domain needs from others, filled in main.ts (it imports no other domain):
 * checking an edge's credential for package downloads (ingest).
 */
export interface ReleasesPorts {
  /** The edge's site when `token` is its current credential; undefined otherwise (unknown, wrong, revoked). */
  readonly authenticateEdge: (edgeId: string, token: string) => { readonly siteId: string } | undefined;
}
