DROP INDEX runs_tenant_final_cost;
CREATE INDEX runs_tenant_cost ON runs (tenant_id, total_cost_cents DESC, run_id);
ALTER TABLE runs DROP COLUMN final_cost_cents;
