-- One decision per correlation id: a reservation is answered RESERVE or DENY, never both and
-- never twice, whichever replica answers. `risk_event_correlation` allows one row per action,
-- so before this rule racing replicas could record both a RESERVE and a DENY for one id.
--
-- Rows recorded before the rule are exempt (`one_decision` is false for them), because such a
-- pair may exist and the table is append-only evidence: it is not rewritten. Every row written
-- from now on gets true: gov writes it, and it is the default, so that replicas of an older
-- version still running during an upgrade are held to the rule too. Where an old pair exists,
-- a replay answers the RESERVE: it is the one the ledger holds.
ALTER TABLE risk_event ADD COLUMN one_decision BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE risk_event ALTER COLUMN one_decision SET DEFAULT TRUE;
CREATE UNIQUE INDEX risk_event_one_decision ON risk_event (tenant_id, correlation_id)
    WHERE action IN ('RESERVE', 'DENY') AND one_decision;
