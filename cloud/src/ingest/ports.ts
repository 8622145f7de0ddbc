/**
 * What ingest needs from the rest of the cloud, as small interfaces wired in main.ts (ingest
 * imports no other domain: the telemetry store satisfies ReadingCommitter structurally).
 */
export type IngestValue = number | boolean | string;

export interface ValidReading {
  readonly seq: number;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly values: Readonly<Record<string, IngestValue>>;
  readonly deviceTimeMs?: number | undefined;
  readonly edgeTimeMs: number;
  readonly receivedAt?: number | undefined;
}

export interface CommitMeta {
  /** The edge flagged the batch as backlog (buffered before the session came up). */
  readonly replay?: boolean;
}

export interface CommitOutcome {
  readonly inserted: number;
  readonly duplicates: number;
  /** Seqs of the rows inserted (not the duplicates). */
  readonly insertedSeqs: number[];
}

export interface ReadingCommitter {
  commitBatch(edgeId: string, readings: readonly ValidReading[], meta?: CommitMeta): Promise<CommitOutcome>;
  /** Several batches of one edge in one transaction (group commit), one outcome per batch; optional. */
  commitBatches?(edgeId: string, batches: readonly (readonly ValidReading[])[]): Promise<CommitOutcome[]>;
}

export interface EdgeCredential {
  readonly id: string;
  readonly siteId: string;
  readonly tokenHash: string;
  /** SHA-256 fingerprint of the client certificate the edge must present (mutual TLS). */
  readonly certFingerprint?: string | undefined;
}

export interface IngestLimits {
  readonly credit: number;
  readonly maxBatchReadings: number;
  readonly maxBatchBytes: number;
}

/** Which edge owns each device (filled with the fleet's DeviceOwners in main.ts). */
export interface DeviceOwnership {
  ownerOf(deviceId: string): Promise<string | undefined>;
  /** Claims the device for the edge unless another edge owns it; answers who owns it now. */
  claim(deviceId: string, edgeId: string, how: string): Promise<{ readonly owner: string; readonly claimed: boolean }>;
}
