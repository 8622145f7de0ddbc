/**
 * What provisioning needs from other domains, filled in main.ts (provisioning imports none):
 * the fleet's sites and edges, and the ingest credentials a claimed edge is enrolled in.
 */
export interface ProvisionedEdge {
  readonly id: string;
  readonly siteId: string;
  readonly name: string;
  readonly tokenHash: string;
}

export interface ProvisioningPorts {
  /** Is there such a site (fleet)? */
  readonly siteExists: (siteId: string) => boolean;
  /** The edge's link state, or undefined when the cloud does not know the edge (fleet). */
  readonly edgeOnline: (edgeId: string) => boolean | undefined;
  /** Makes the edge known to the fleet and lets it authenticate at ingest with this token hash. */
  readonly enroll: (edge: ProvisionedEdge) => void;
  /** The gRPC port edges connect to (ingest). */
  readonly grpcPort: () => number;
  /** PEM of the release public key (releases): a claimed edge trusts agent releases signed by it only. */
  readonly releasePublicKey: () => string | null;
}
