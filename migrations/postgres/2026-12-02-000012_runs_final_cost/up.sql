-- The most expensive runs without an index on a column every step changes (issue 10): a run's
-- final cost is written once, when it ends, and only that is indexed. A step's update then
-- touches no indexed column of `runs` (on PostgreSQL it can stay a HOT update), and the live
-- runs, few, are ranked from their status.
ALTER TABLE runs ADD COLUMN final_cost_cents DOUBLE PRECISION;
UPDATE runs SET final_cost_cents = total_cost_cents WHERE status NOT IN ('queued', 'running', 'paused');
DROP INDEX runs_tenant_cost;
CREATE INDEX runs_tenant_final_cost ON runs (tenant_id, final_cost_cents DESC, run_id)
    WHERE final_cost_cents IS NOT NULL;
