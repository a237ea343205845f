DROP INDEX incidents_tenant_severity_status;
DROP INDEX audit_logs_tenant_action_time;
DROP INDEX runs_tenant_cost;
DROP TABLE rollup_backfill;
DROP TABLE policy_rollups;
DROP TABLE cost_rollups;
DROP TABLE run_duration_rollups;
DROP TABLE run_rollups;
