-- Accounts: tenants, users, API keys and the append-only audit trail (seed 000 §12.6, §12.7).
-- Ids are UUID text; times are UTC `TIMESTAMP`s; JSON documents are text.

-- Shared by every append-only table: refuses UPDATE and DELETE.
CREATE FUNCTION gov_refuse_mutation() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TABLE tenants (
    tenant_id  TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    plan       TEXT NOT NULL DEFAULT 'self_hosted',
    created_at TIMESTAMP NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE users (
    user_id    TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id),
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    roles      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    last_login TIMESTAMP,
    UNIQUE (tenant_id, email)
);

CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id),
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE audit_logs (
    log_id        TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id),
    actor_id      TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    timestamp     TIMESTAMP NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_logs_tenant_time ON audit_logs (tenant_id, timestamp);

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
