DROP INDEX IF EXISTS prevention_records_run;
DROP INDEX IF EXISTS audit_logs_tenant_resource;
DROP TABLE IF EXISTS evidence_exports;
DROP TABLE IF EXISTS signing_keys;
