/** `remote_config:` in the edge YAML: whether the cloud may configure the edge, and its safety net. */
import { z } from "zod";

export const remoteConfigSchema = z
  .object({
    /** false: ConfigUpdates are answered "rejected" and the file alone configures the agent. */
    enabled: z.boolean().default(true),
    /**
     * After a remote version is applied, the edge must reach the cloud within this long; otherwise
     * it rolls back to the last version that did (or to its file) and reports why once the link is back.
     */
    rollback_after_s: z.number().min(1).max(86_400).default(600),
  })
  .strict()
  .prefault({});

export type RemoteConfigSettings = z.output<typeof remoteConfigSchema>;
