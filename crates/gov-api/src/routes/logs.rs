//! `/api/v1/logs/audit`: the tenant's audit trail (read), and its integrity against the
//! checkpoints that seal it.

use actix_web::{get, web};
use gov_facades::{AuditIntegrity, AuditProblem, AuditQuery};
use gov_model::{AuditCheckpoint, AuditEntry, SortDirection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{ListResponse, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::PageQuery;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogOut {
    pub log_id: String,
    pub tenant_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditEntry> for AuditLogOut {
    fn from(e: AuditEntry) -> Self {
        AuditLogOut {
            log_id: e.id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            actor_id: e.actor_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            timestamp: e.timestamp,
            details: e.details,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// e.g. `api_key.created`.
    pub action: Option<String>,
    /// e.g. `api_key`, `user`, `tenant`.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
}

/// Audit rows, newest first. Every change made through the API has one, written in the same
/// transaction as the change.
#[utoipa::path(operation_id = "list_audit_logs", tag = "logs", params(AuditListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<AuditLogOut>), (status = 422, body = ErrorBody)))]
#[get("/logs/audit")]
pub async fn audit(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<AuditListQuery>,
) -> ApiResult<web::Json<ListResponse<AuditLogOut>>> {
    let q = query.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let applied = filters([
        ("action", q.action.as_deref()),
        ("resource_type", q.resource_type.as_deref()),
        ("resource_id", q.resource_id.as_deref()),
        ("actor_id", q.actor_id.as_deref()),
    ]);
    let filter = AuditQuery {
        action: q.action,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        actor_id: q.actor_id,
    };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let entries = blocking(move || gov.list_audit_logs(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(entries, AuditLogOut::from, applied, "timestamp", SortDirection::Desc)))
}

/// A checkpoint: it seals the tenant's audit rows with `from_seq < seq <= to_seq`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditCheckpointOut {
    /// 1, 2, ... per tenant.
    pub n: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    pub row_count: i64,
    /// blake3 over the sealed rows' `(seq, row_hash)` in `seq` order.
    pub rows_digest: String,
    /// The checkpoint's own hash (it chains to the previous checkpoint's).
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<AuditCheckpoint> for AuditCheckpointOut {
    fn from(c: AuditCheckpoint) -> Self {
        AuditCheckpointOut {
            n: c.n,
            from_seq: c.from_seq,
            to_seq: c.to_seq,
            row_count: c.row_count,
            rows_digest: c.rows_digest,
            hash: c.checkpoint_hash,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditProblemOut {
    /// `row_edited`, `row_unhashed`, `rows_missing`, `rows_added`, `rows_changed` or
    /// `checkpoint_broken`.
    pub kind: &'static str,
    /// The row concerned (its `seq`), when the problem is one row.
    pub seq: Option<i64>,
    /// The checkpoint concerned (its `n`), when the problem is one checkpoint.
    pub checkpoint: Option<i64>,
    pub detail: String,
}

impl From<AuditProblem> for AuditProblemOut {
    fn from(p: AuditProblem) -> Self {
        AuditProblemOut { kind: p.kind.as_str(), seq: p.seq, checkpoint: p.checkpoint, detail: p.detail }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditIntegrityOut {
    /// No problem was found.
    pub valid: bool,
    /// The tenant's audit rows.
    pub rows: i64,
    /// Rows inside a checkpoint's range.
    pub sealed_rows: i64,
    /// Rows newer than the newest checkpoint (sealed by the next round).
    pub unsealed_rows: i64,
    /// Rows written before rows were hashed (hashed by their first checkpoint).
    pub legacy_rows: i64,
    pub checkpoints: i64,
    /// The newest checkpoint: keep a copy outside gov to detect a rewrite of the whole trail.
    pub head: Option<AuditCheckpointOut>,
    /// The first 100 problems, in the trail's order.
    pub problems: Vec<AuditProblemOut>,
    /// Every problem found (`problems` lists at most 100).
    pub problem_count: i64,
}

impl From<AuditIntegrity> for AuditIntegrityOut {
    fn from(r: AuditIntegrity) -> Self {
        AuditIntegrityOut {
            valid: r.valid,
            rows: r.rows,
            sealed_rows: r.sealed_rows,
            unsealed_rows: r.unsealed_rows,
            legacy_rows: r.legacy_rows,
            checkpoints: r.checkpoints,
            head: r.head.map(Into::into),
            problems: r.problems.into_iter().map(Into::into).collect(),
            problem_count: r.problem_count,
        }
    }
}

/// Re-walks the tenant's audit trail against its checkpoints: every row's content hash, every
/// checkpoint's row count, digest, hash and link to the one before. A wiped, edited or thinned
/// trail is `valid: false` with the problems found, even where the append-only triggers were
/// dropped first.
#[utoipa::path(tag = "logs", security(("bearer" = [])),
    responses(
        (status = 200, body = AuditIntegrityOut, description = "The integrity report (also when it finds problems)"),
        (status = 401, body = ErrorBody, description = "No valid API key"),
        (status = 403, body = ErrorBody, description = "The key lacks the read scope"),
        (status = 503, body = ErrorBody, description = "The database could not be reached in time"),
    ))]
#[get("/logs/audit/integrity")]
pub async fn audit_integrity(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<AuditIntegrityOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let report = blocking(move || gov.audit_integrity(tenant)).await?;
    Ok(web::Json(report.into()))
}
