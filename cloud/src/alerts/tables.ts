/** The alerts tables in cloud.db (created by ./migrations.ts). */
export type AlertTables = {
  alert_rules: {
    id: string;
    name: string;
    kind: string;
    severity: string;
    enabled: number;
    params_json: string;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
  alerts: {
    id: string;
    rule_id: string;
    rule_name: string;
    kind: string;
    severity: string;
    subject_kind: string;
    subject_id: string;
    message: string;
    value: number | null;
    state: string;
    active: number;
    fired_at: number;
    cleared_at: number | null;
    acknowledged_at: number | null;
    acknowledged_by: string | null;
    resolved_at: number | null;
    resolved_by: string | null;
  };
};
