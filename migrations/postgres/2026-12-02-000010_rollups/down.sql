DROP INDEX runs_tenant_cost;
DROP TABLE rollup_backfill;
DROP TABLE policy_rollups;
DROP TABLE cost_rollups;
DROP TABLE run_duration_rollups;
DROP TABLE run_rollups;
