DROP TABLE IF EXISTS audit_checkpoints;
DROP INDEX IF EXISTS audit_logs_tenant_seq;
DROP INDEX IF EXISTS audit_logs_seq;
ALTER TABLE audit_logs DROP COLUMN row_hash;
ALTER TABLE audit_logs DROP COLUMN seq;
