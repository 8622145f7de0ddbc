/** The fleet tables in cloud.db (created by ./migrations.ts). */
export type FleetTables = {
  devices: { id: string; edge_id: string; site_id: string; type: string; name: string; last_seen: number | null; latest_json: string };
  device_owners: { device_id: string; edge_id: string; claimed_at: number; claimed_by: string };
  edge_state: {
    id: string;
    last_seen: number | null;
    agent_version: string | null;
    boot_id: string | null;
    clock_offset_ms: number | null;
  };
  commands: {
    id: string;
    device_id: string;
    edge_id: string;
    name: string;
    params_json: string;
    status: string;
    message: string | null;
    result_json: string | null;
    created_at: number;
    updated_at: number;
    expires_at: number;
    requested_by: string;
  };
  /** Remote configuration versions per edge (fleet/edge-configs.ts); the document holds its secrets. */
  edge_configs: {
    edge_id: string;
    version: number;
    yaml: string;
    author: string;
    created_at: number;
    state: string;
    problems_json: string;
    reported_at: number | null;
    restarted: number;
  };
};
