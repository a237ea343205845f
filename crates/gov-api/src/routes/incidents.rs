//! `/api/v1/incidents/`: what went wrong. Lists (all, active, resolved, by policy), detail,
//! the lifecycle (acknowledge, escalate, resolve; illegal transitions are 409), comments and the
//! timeline.

use actix_web::{HttpResponse, get, post, web};
use gov_facades::{IncidentFilter, Transition};
use gov_model::{IncidentId, IncidentStatus, PolicyId, RunId, Severity, SortDirection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read, Write};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PageQuery, direction, optional_json, parse_field};
use crate::state::AppState;
use crate::wire::incident::{CommentOut, IncidentOut};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// active, acknowledged, escalated, resolved
    #[param(value_type = Option<crate::schema::IncidentStatus>, inline)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::schema::Severity>, inline)]
    pub severity: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    /// e.g. token_limit_exceeded
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub incident_type: Option<String>,
    /// asc or desc (default) by created_at.
    #[param(value_type = Option<crate::schema::Direction>, inline)]
    pub direction: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    /// Why (kept in the timeline; for resolve, the resolution).
    #[schema(value_type = Option<crate::schema::Text4000>)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    #[schema(value_type = crate::schema::Text10000)]
    pub content: String,
    /// The console's user id; defaults to the calling key.
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub author: Option<String>,
}

/// O4 context: the incident, what it links to, and what happened to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineOut {
    pub source: Ref,
    pub related: Vec<Related>,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ref {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Related {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub link: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: time::OffsetDateTime,
    pub event: String,
    pub actor: String,
    pub detail: String,
}

fn detail(incident: gov_model::Incident) -> Detail<IncidentOut> {
    let open = incident.status != IncidentStatus::Resolved;
    let acknowledgeable = matches!(incident.status, IncidentStatus::Active | IncidentStatus::Escalated);
    Detail {
        entity: incident.into(),
        actions: vec![
            Action::new("acknowledge", "Acknowledge", acknowledgeable),
            Action::new("escalate", "Escalate", open),
            Action::new("resolve", "Resolve", open),
            Action::new("comment", "Comment", true),
        ],
    }
}

async fn list_with(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: IncidentQuery,
    statuses: Option<Vec<IncidentStatus>>,
    policy: Option<PolicyId>,
) -> ApiResult<web::Json<ListResponse<IncidentOut>>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let dir = direction(q.direction.as_deref())?;
    let statuses = match parse_field::<IncidentStatus>("status", q.status.as_deref())? {
        Some(s) => Some(vec![s]),
        None => statuses,
    };
    let filter = IncidentFilter {
        statuses,
        severity: parse_field::<Severity>("severity", q.severity.as_deref())?,
        policy_id: policy.or(parse_field::<PolicyId>("policy_id", q.policy_id.as_deref())?),
        run_id: parse_field::<RunId>("run_id", q.run_id.as_deref())?,
        incident_type: q.incident_type.clone(),
    };
    let applied = filters([
        ("status", q.status.as_deref()),
        ("severity", q.severity.as_deref()),
        ("policy_id", q.policy_id.as_deref()),
        ("run_id", q.run_id.as_deref()),
        ("type", q.incident_type.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_incidents(tenant, &filter, page, dir)).await?;
    Ok(web::Json(ListResponse::new(found, IncidentOut::from, applied, "created_at", dir)))
}

#[utoipa::path(operation_id = "list_incidents", tag = "incidents", params(IncidentQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<IncidentOut>), (status = 422, body = ErrorBody)))]
#[get("/incidents/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<IncidentQuery>,
) -> ApiResult<web::Json<ListResponse<IncidentOut>>> {
    list_with(auth, state, q.into_inner(), None, None).await
}

/// Incidents not yet resolved (active, acknowledged, escalated).
#[utoipa::path(operation_id = "list_active_incidents", tag = "incidents", params(IncidentQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<IncidentOut>)))]
#[get("/incidents/active")]
pub async fn active(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<IncidentQuery>,
) -> ApiResult<web::Json<ListResponse<IncidentOut>>> {
    let open = vec![IncidentStatus::Active, IncidentStatus::Acknowledged, IncidentStatus::Escalated];
    list_with(auth, state, q.into_inner(), Some(open), None).await
}

#[utoipa::path(operation_id = "list_resolved_incidents", tag = "incidents", params(IncidentQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<IncidentOut>)))]
#[get("/incidents/resolved")]
pub async fn resolved(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<IncidentQuery>,
) -> ApiResult<web::Json<ListResponse<IncidentOut>>> {
    list_with(auth, state, q.into_inner(), Some(vec![IncidentStatus::Resolved]), None).await
}

#[utoipa::path(operation_id = "list_policy_incidents", tag = "incidents", params(("policy_id" = String, Path), IncidentQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<IncidentOut>), (status = 404, body = ErrorBody)))]
#[get("/incidents/policy/{policy_id}")]
pub async fn by_policy(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
    q: web::Query<IncidentQuery>,
) -> ApiResult<web::Json<ListResponse<IncidentOut>>> {
    let (gov, tenant, policy) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    blocking(move || gov.get_policy(tenant, policy)).await?;
    list_with(auth, state, q.into_inner(), None, Some(policy)).await
}

#[utoipa::path(operation_id = "show_incident", tag = "incidents", params(("incident_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<IncidentOut>), (status = 404, body = ErrorBody)))]
#[get("/incidents/{incident_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
) -> ApiResult<web::Json<Detail<IncidentOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let incident = blocking(move || gov.get_incident(tenant, id)).await?;
    Ok(web::Json(detail(incident)))
}

async fn transition(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    id: IncidentId,
    body: web::Bytes,
    t: Transition,
) -> ApiResult<web::Json<Detail<IncidentOut>>> {
    let note = optional_json::<TransitionIn>(&body)?.and_then(|b| b.note);
    let gov = state.gov.clone();
    let incident = blocking(move || gov.transition_incident(&auth.caller, id, t, note)).await?;
    Ok(web::Json(detail(incident)))
}

#[utoipa::path(operation_id = "acknowledge_incident", tag = "incidents", params(("incident_id" = String, Path)), request_body(content = Option<TransitionIn>, description = "Optional: an empty body is no note."),
    security(("bearer" = [])), responses((status = 200, body = Detail<IncidentOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/incidents/{incident_id}/acknowledge")]
pub async fn acknowledge(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    body: web::Bytes,
) -> ApiResult<web::Json<Detail<IncidentOut>>> {
    transition(auth, state, path.into_inner(), body, Transition::Acknowledge).await
}

/// Raises the severity one level and the escalation level by one.
#[utoipa::path(operation_id = "escalate_incident", tag = "incidents", params(("incident_id" = String, Path)), request_body(content = Option<TransitionIn>, description = "Optional: an empty body is no note."),
    security(("bearer" = [])), responses((status = 200, body = Detail<IncidentOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/incidents/{incident_id}/escalate")]
pub async fn escalate(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    body: web::Bytes,
) -> ApiResult<web::Json<Detail<IncidentOut>>> {
    transition(auth, state, path.into_inner(), body, Transition::Escalate).await
}

#[utoipa::path(operation_id = "resolve_incident", tag = "incidents", params(("incident_id" = String, Path)), request_body(content = Option<TransitionIn>, description = "Optional: an empty body is no note."),
    security(("bearer" = [])), responses((status = 200, body = Detail<IncidentOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/incidents/{incident_id}/resolve")]
pub async fn resolve(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    body: web::Bytes,
) -> ApiResult<web::Json<Detail<IncidentOut>>> {
    transition(auth, state, path.into_inner(), body, Transition::Resolve).await
}

/// The incident (O4): its source, what it links to, and its events in order.
#[utoipa::path(operation_id = "incident_timeline", tag = "incidents", params(("incident_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = TimelineOut), (status = 404, body = ErrorBody)))]
#[get("/incidents/{incident_id}/timeline")]
pub async fn timeline(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
) -> ApiResult<web::Json<TimelineOut>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let (incident, events) = blocking(move || gov.incident_timeline(tenant, id)).await?;
    let mut related = Vec::new();
    if let Some(run) = incident.source_run_id {
        related.push(Related {
            id: run.to_string(),
            kind: "run".into(),
            title: format!("Run {run}"),
            link: format!("/api/v1/activity/{run}"),
        });
    }
    if let Some(policy) = incident.policy_id {
        related.push(Related {
            id: policy.to_string(),
            kind: "policy".into(),
            title: format!("Policy {policy}"),
            link: format!("/api/v1/policies/{policy}"),
        });
    }
    if let Some(trace) = incident.trace_id {
        related.push(Related {
            id: trace.to_string(),
            kind: "trace".into(),
            title: format!("Trace {trace}"),
            link: format!("/api/v1/traces/{trace}"),
        });
    }
    Ok(web::Json(TimelineOut {
        source: Ref { id: incident.incident_id.to_string(), kind: "incident".into() },
        related,
        timeline: events
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

#[utoipa::path(operation_id = "list_incident_comments", tag = "incidents", params(("incident_id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<CommentOut>), (status = 404, body = ErrorBody)))]
#[get("/incidents/{incident_id}/comments")]
pub async fn comments(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListResponse<CommentOut>>> {
    let page = q.request()?;
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let found = blocking(move || gov.incident_comments(tenant, id, page)).await?;
    Ok(web::Json(ListResponse::new(
        found,
        CommentOut::from,
        Default::default(),
        "created_at",
        SortDirection::Asc,
    )))
}

#[utoipa::path(operation_id = "add_incident_comment", tag = "incidents", params(("incident_id" = String, Path)), request_body = CommentIn, security(("bearer" = [])),
    responses((status = 201, body = CommentOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/incidents/{incident_id}/comments")]
pub async fn add_comment(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    body: web::Json<CommentIn>,
) -> ApiResult<HttpResponse> {
    let (gov, id, b) = (state.gov.clone(), path.into_inner(), body.into_inner());
    let comment =
        blocking(move || gov.comment_incident(&auth.caller, id, &b.content, b.author.as_deref())).await?;
    Ok(HttpResponse::Created().json(CommentOut::from(comment)))
}
