DROP INDEX risk_event_one_decision;
ALTER TABLE risk_event DROP COLUMN one_decision;
