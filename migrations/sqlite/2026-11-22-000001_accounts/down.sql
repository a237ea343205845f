DROP TRIGGER IF EXISTS audit_logs_no_delete;
DROP TRIGGER IF EXISTS audit_logs_no_update;
DROP TABLE IF EXISTS audit_logs;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS tenants;
