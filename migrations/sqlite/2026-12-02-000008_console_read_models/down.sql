DROP INDEX audit_logs_tenant_time_id;
DROP INDEX aos_traces_tenant_started_id;
DROP INDEX runs_tenant_started_id;
DROP INDEX incidents_tenant_status_created;
DROP INDEX incidents_tenant_created;
DROP TABLE policy_proposals;
DROP TABLE postmortems;
DROP TABLE system_logs;
