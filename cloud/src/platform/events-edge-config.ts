/** Remote configuration between fleet (which keeps the versions) and ingest (which holds the edge's stream). */

/** Fleet asks the node holding the edge's stream to send a version (now, or at the edge's next Hello). */
export interface EdgeConfigRequested {
  readonly edgeId: string;
  readonly version: number;
  readonly yaml: string;
}

/** The edge's ConfigReport, as ingest received it. */
export interface EdgeConfigReported {
  readonly edgeId: string;
  readonly version: number;
  readonly state: "applied" | "rejected" | "rolled-back";
  readonly problems: readonly string[];
  readonly runningVersion: number;
  readonly restarted: boolean;
  readonly timeMs: number;
  readonly receivedAtMs: number;
}

export interface EdgeConfigEvents {
  edgeConfigRequested: EdgeConfigRequested;
  edgeConfigReported: EdgeConfigReported;
}
