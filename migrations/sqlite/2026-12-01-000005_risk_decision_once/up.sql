-- One decision per correlation id: a reservation is answered RESERVE or DENY, never both and
-- never twice. `risk_event_correlation` allows one row per action, so it did not say so.
--
-- Rows recorded before the rule are exempt (`one_decision` is false for them), as on PostgreSQL,
-- where racing replicas could record such a pair; the table is append-only evidence and is not
-- rewritten. gov writes every new row with `one_decision` true. (SQLite cannot change a column's
-- default, so the default stays false here; on PostgreSQL it becomes true.)
ALTER TABLE risk_event ADD COLUMN one_decision BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX risk_event_one_decision ON risk_event (tenant_id, correlation_id)
    WHERE action IN ('RESERVE', 'DENY') AND one_decision;
