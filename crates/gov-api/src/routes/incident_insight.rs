//! Incident insight (seed 000 §12.3): `/incidents/{incident_id}/related` (O4), `/incidents/stats`,
//! `/incidents/patterns` and `/incidents/{incident_id}/postmortem` (GET, POST).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use gov_facades::{Pattern, PatternReport, PostmortemDraft, TimeRange};
use gov_model::{IncidentId, IncidentStatus, PostmortemEntry, Severity, SortDirection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::incidents::{Ref, TimelineEntry};
use crate::auth::{Authed, Read, Write};
use crate::blocking::blocking;
use crate::envelope::{Detail, Pagination, SortInfo, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, parse_field};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// RFC 3339: incidents created at or after.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// RFC 3339: incidents created at or before (not before `from`).
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub to: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatternQuery {
    /// RFC 3339: incidents created at or after.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// RFC 3339: incidents created at or before (not before `from`).
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// Incidents a recurring pair or a repeated step type needs (default 2).
    #[param(value_type = Option<u32>, minimum = 2, maximum = 5000)]
    pub min_count: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
}

fn time_param(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::validation(field, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

fn range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, ApiError> {
    let range = TimeRange { from: time_param("from", from)?, to: time_param("to", to)? };
    match (range.from, range.to) {
        (Some(f), Some(t)) if f > t => Err(ApiError::validation("from", "from must not be after to")),
        _ => Ok(range),
    }
}

/// One related incident and why it is related.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedIncidentOut {
    pub id: String,
    /// Always `incident`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub link: String,
    /// same_run, same_policy, same_agent, same_pattern
    #[schema(value_type = crate::schema::IncidentRelation)]
    pub relation: String,
    /// low, medium, high, critical
    pub severity: String,
    /// active, acknowledged, escalated, resolved
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// O4: the incident, its related incidents (per relation, newest first) and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedOut {
    pub source: Ref,
    pub related: Vec<RelatedIncidentOut>,
    pub timeline: Vec<TimelineEntry>,
}

#[utoipa::path(operation_id = "related_incidents", tag = "incidents", params(("incident_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RelatedOut), (status = 404, body = ErrorBody)))]
#[get("/incidents/{incident_id}/related")]
pub async fn related(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
) -> ApiResult<web::Json<RelatedOut>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let found = blocking(move || gov.related_incidents(tenant, id)).await?;
    Ok(web::Json(RelatedOut {
        source: Ref { id: found.source.incident_id.to_string(), kind: "incident".into() },
        related: found
            .related
            .into_iter()
            .map(|(relation, i)| RelatedIncidentOut {
                id: i.incident_id.to_string(),
                kind: "incident".into(),
                link: format!("/api/v1/incidents/{}", i.incident_id),
                title: i.title,
                relation: relation.as_str().to_owned(),
                severity: i.severity.as_str().to_owned(),
                status: i.status.as_str().to_owned(),
                created_at: i.created_at,
            })
            .collect(),
        timeline: found
            .events
            .into_iter()
            .map(|e| TimelineEntry {
                timestamp: e.timestamp,
                event: e.event.as_str().to_owned(),
                actor: e.actor,
                detail: e.detail,
            })
            .collect(),
    }))
}

/// Seed 004's MTTR (mean time to remediate: creation to resolution), against its target.
#[derive(Debug, Serialize, ToSchema)]
pub struct MttrOut {
    pub definition: &'static str,
    pub seconds: Option<f64>,
    /// Seed 004: "should be < 2 hours".
    pub target_seconds: f64,
    /// `null` while no incident of the range is resolved.
    pub within_target: Option<bool>,
    /// Resolved incidents it is the mean of.
    pub incidents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    /// Incidents created in the range.
    pub total: i64,
    /// Of those, not resolved (active, acknowledged, escalated).
    pub active: i64,
    /// Every status, zero included.
    pub by_status: BTreeMap<String, i64>,
    /// Every severity, zero included.
    pub by_severity: BTreeMap<String, i64>,
    /// The types that occur.
    pub by_type: BTreeMap<String, i64>,
    /// Mean seconds from created_at to acknowledged_at, over the incidents acknowledged.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    pub acknowledged_count: i64,
    /// Mean seconds from created_at to resolved_at, over the incidents resolved.
    pub mean_time_to_resolve_seconds: Option<f64>,
    pub resolved_count: i64,
    pub mttr: MttrOut,
    #[serde(with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

/// Seconds at millisecond precision (the backends' arithmetic differs below that).
fn seconds(s: Option<f64>) -> Option<f64> {
    s.map(|s| (s * 1000.0).round() / 1000.0)
}

#[utoipa::path(operation_id = "incident_stats", tag = "incidents", params(StatsQuery), security(("bearer" = [])),
    responses((status = 200, body = StatsOut), (status = 422, body = ErrorBody)))]
#[get("/incidents/stats")]
pub async fn stats(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<StatsQuery>,
) -> ApiResult<web::Json<StatsOut>> {
    let range = range(q.from.as_deref(), q.to.as_deref())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let as_of = gov.now();
    let s = blocking(move || gov.incident_stats(tenant, range)).await?;
    let count = |rows: &[(String, i64)], keys: &mut dyn Iterator<Item = &'static str>| {
        let mut map: BTreeMap<String, i64> = keys.map(|k| (k.to_owned(), 0)).collect();
        for (k, n) in rows {
            *map.entry(k.clone()).or_default() += n;
        }
        map
    };
    let by_status = count(&s.by_status, &mut IncidentStatus::ALL.iter().map(|s| s.as_str()));
    let by_severity = count(&s.by_severity, &mut Severity::ALL.iter().map(|s| s.as_str()));
    let by_type = count(&s.by_type, &mut std::iter::empty());
    let resolved = by_status.get(IncidentStatus::Resolved.as_str()).copied().unwrap_or(0);
    let mttr = seconds(s.mean_seconds_to_resolve);
    Ok(web::Json(StatsOut {
        total: s.total,
        active: s.total - resolved,
        by_status,
        by_severity,
        by_type,
        mean_time_to_acknowledge_seconds: seconds(s.mean_seconds_to_acknowledge),
        acknowledged_count: s.acknowledged,
        mean_time_to_resolve_seconds: mttr,
        resolved_count: s.resolved,
        mttr: MttrOut {
            definition: "mean time to remediate (seed 004): created_at to resolved_at, over resolved incidents",
            seconds: mttr,
            target_seconds: gov_facades::MTTR_TARGET_SECONDS,
            within_target: mttr.map(|m| m < gov_facades::MTTR_TARGET_SECONDS),
            incidents: s.resolved,
        },
        from: range.from,
        to: range.to,
        as_of,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatternOut {
    /// Deterministic: a hash of the kind and its key.
    pub pattern_id: String,
    /// recurring_policy_agent, burst, repeated_step_type
    #[schema(value_type = crate::schema::PatternKind)]
    pub kind: String,
    pub title: String,
    pub count: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// Oldest first.
    pub incident_ids: Vec<String>,
    pub policy_id: Option<String>,
    pub agent_id: Option<String>,
    pub step_type: Option<String>,
}

impl From<Pattern> for PatternOut {
    fn from(p: Pattern) -> Self {
        PatternOut {
            pattern_id: p.pattern_id,
            kind: p.kind.as_str().to_owned(),
            title: p.title,
            count: p.count,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            incident_ids: p.incident_ids.iter().map(ToString::to_string).collect(),
            policy_id: p.policy_id.map(|p| p.to_string()),
            agent_id: p.agent_id,
            step_type: p.step_type,
        }
    }
}

/// What the patterns were computed from and with.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatternAnalysisOut {
    /// Incidents read (the newest of the range, at most `facts_limit`).
    pub incidents_considered: usize,
    pub facts_limit: i64,
    /// The range held more incidents than `facts_limit`: only the newest were read.
    pub truncated: bool,
    pub min_count: usize,
    pub burst_count: usize,
    pub burst_window_seconds: i64,
}

/// O2 over the patterns (most incidents first), with what they were computed from.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatternsOut {
    pub items: Vec<PatternOut>,
    pub pagination: Pagination,
    pub filters_applied: BTreeMap<String, String>,
    pub sort: SortInfo,
    pub analysis: PatternAnalysisOut,
}

#[utoipa::path(operation_id = "incident_patterns", tag = "incidents", params(PatternQuery), security(("bearer" = [])),
    responses((status = 200, body = PatternsOut), (status = 422, body = ErrorBody)))]
#[get("/incidents/patterns")]
pub async fn patterns(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<PatternQuery>,
) -> ApiResult<web::Json<PatternsOut>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let range = range(q.from.as_deref(), q.to.as_deref())?;
    let min_count = parse_field::<usize>("min_count", q.min_count.as_deref())?;
    if min_count.is_some_and(|m| !(2..=gov_facades::MAX_MIN_COUNT).contains(&m)) {
        return Err(ApiError::validation(
            "min_count",
            format!("min_count must be within 2..={}", gov_facades::MAX_MIN_COUNT),
        ));
    }
    let applied = filters([
        ("from", q.from.as_deref()),
        ("to", q.to.as_deref()),
        ("min_count", q.min_count.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let PatternReport { patterns, config, incidents_considered, truncated } =
        blocking(move || gov.incident_patterns(tenant, range, min_count)).await?;
    let total = patterns.len() as i64;
    let items: Vec<PatternOut> = patterns
        .into_iter()
        .skip(usize::try_from(page.rows_before()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit()).unwrap_or(0))
        .map(PatternOut::from)
        .collect();
    Ok(web::Json(PatternsOut {
        pagination: Pagination::by_position(total, &page),
        items,
        filters_applied: applied,
        sort: SortInfo { field: "count".to_owned(), direction: SortDirection::Desc.as_str().to_owned() },
        analysis: PatternAnalysisOut {
            incidents_considered,
            facts_limit: gov_facades::PATTERN_FACTS_LIMIT,
            truncated,
            min_count: config.min_count,
            burst_count: config.burst_count,
            burst_window_seconds: config.burst_window.whole_seconds(),
        },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemEntryIn {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = crate::schema::DateTime)]
    pub timestamp: OffsetDateTime,
    #[schema(value_type = crate::schema::Text2000)]
    pub event: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemIn {
    #[schema(value_type = crate::schema::Text10000)]
    pub root_cause: String,
    /// What happened, in order (at most 100 entries; default none).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub timeline: Vec<PostmortemEntryIn>,
    #[schema(value_type = crate::schema::Text10000)]
    pub lessons_learned: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemEntryOut {
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub event: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemOut {
    pub postmortem_id: String,
    pub incident_id: String,
    pub root_cause: String,
    pub timeline: Vec<PostmortemEntryOut>,
    pub lessons_learned: String,
    /// Who wrote it (`api_key:<id>`).
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn postmortem_detail(p: gov_model::Postmortem) -> Detail<PostmortemOut> {
    Detail {
        entity: PostmortemOut {
            postmortem_id: p.postmortem_id.to_string(),
            incident_id: p.incident_id.to_string(),
            root_cause: p.root_cause,
            timeline: p
                .timeline
                .into_iter()
                .map(|e| PostmortemEntryOut { timestamp: e.timestamp, event: e.event })
                .collect(),
            lessons_learned: p.lessons_learned,
            author: p.author,
            created_at: p.created_at,
        },
        // A postmortem is final once written.
        actions: Vec::new(),
    }
}

/// 404 while the incident has no postmortem yet.
#[utoipa::path(operation_id = "show_incident_postmortem", tag = "incidents", params(("incident_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<PostmortemOut>), (status = 404, body = ErrorBody)))]
#[get("/incidents/{incident_id}/postmortem")]
pub async fn show_postmortem(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
) -> ApiResult<web::Json<Detail<PostmortemOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let found = blocking(move || gov.get_postmortem(tenant, id)).await?;
    Ok(web::Json(postmortem_detail(found)))
}

/// One per incident: a second one is 409. Audited and shown in the incident's timeline.
#[utoipa::path(operation_id = "create_incident_postmortem", tag = "incidents", params(("incident_id" = String, Path)), request_body = PostmortemIn, security(("bearer" = [])),
    responses((status = 201, body = Detail<PostmortemOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/incidents/{incident_id}/postmortem")]
pub async fn create_postmortem(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    body: web::Json<PostmortemIn>,
) -> ApiResult<HttpResponse> {
    let (gov, id, b) = (state.gov.clone(), path.into_inner(), body.into_inner());
    let draft = PostmortemDraft {
        root_cause: b.root_cause,
        timeline: b
            .timeline
            .into_iter()
            .map(|e| PostmortemEntry { timestamp: e.timestamp, event: e.event })
            .collect(),
        lessons_learned: b.lessons_learned,
    };
    let created = blocking(move || gov.create_postmortem(&auth.caller, id, draft)).await?;
    Ok(HttpResponse::Created().json(postmortem_detail(created)))
}
