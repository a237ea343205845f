//! `/api/v1/logs/system`, `/api/v1/logs/`, `/api/v1/logs/search` and `/api/v1/logs/{log_id}`:
//! the deployment's system events, and one view over every log topic (llm_runs, system, audit).

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use gov_facades::{LogEntry, LogSearch, LogsTopic, SystemLogFilter, TimeRange, trace_level};
use gov_model::{LogLevel, SortDirection, SystemLog, Timestamp};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::PageQuery;
use crate::state::AppState;

/// One system event.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemLogOut {
    pub log_id: String,
    /// `null`: an event of the whole deployment (start-up, migrations, signing key).
    pub tenant_id: Option<String>,
    #[schema(value_type = crate::schema::LogLevelName)]
    pub level: String,
    #[schema(value_type = crate::schema::LogSourceName)]
    pub source: String,
    /// A stable machine name, e.g. `kill_switch.engaged` (see docs/API.md "## Logs").
    pub event: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

impl From<SystemLog> for SystemLogOut {
    fn from(l: SystemLog) -> Self {
        SystemLogOut {
            log_id: l.log_id.to_string(),
            tenant_id: l.tenant_id.map(|t| t.to_string()),
            level: l.level.as_str().to_owned(),
            source: l.source.as_str().to_owned(),
            event: l.event,
            message: l.message,
            timestamp: l.timestamp,
            context: l.context,
        }
    }
}

/// One entry of any topic, in one shape. audit: level `info`, source = `resource_type`, event =
/// `action`, message = "`action` `resource_type`/`resource_id` by `actor_id`", context = details.
/// llm_runs (a trace summary): timestamp = `started_at`, level `warning` when the run hit a
/// violation (else `info`), source = `agent_id`, event = `run.<status>`, context = the summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogItemOut {
    /// The entry's id in its topic (audit `log_id`, system `log_id`, llm_runs `trace_id`).
    pub log_id: String,
    #[schema(value_type = crate::schema::LogsTopicName)]
    pub topic: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[schema(value_type = crate::schema::LogLevelName)]
    pub level: &'static str,
    pub source: String,
    pub event: String,
    pub message: String,
    /// audit: `actor_id`; otherwise null.
    pub actor_id: Option<String>,
    /// audit: `resource_type`/`resource_id`; llm_runs: `run`/run id; system: null.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub run_id: Option<String>,
    pub incident_id: Option<String>,
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

fn str_of(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

impl From<LogEntry> for LogItemOut {
    fn from(e: LogEntry) -> Self {
        let topic = e.topic().as_str();
        match e {
            LogEntry::System(l) => LogItemOut {
                log_id: l.log_id.to_string(),
                topic,
                timestamp: l.timestamp,
                level: l.level.as_str(),
                source: l.source.as_str().to_owned(),
                event: l.event,
                message: l.message,
                actor_id: None,
                resource_type: None,
                resource_id: None,
                run_id: str_of(&l.context, "run_id"),
                incident_id: str_of(&l.context, "incident_id"),
                context: l.context,
            },
            LogEntry::Audit(a) => LogItemOut {
                log_id: a.id.to_string(),
                topic,
                timestamp: a.timestamp,
                level: LogLevel::Info.as_str(),
                source: a.resource_type.clone(),
                event: a.action.clone(),
                message: format!("{} {}/{} by {}", a.action, a.resource_type, a.resource_id, a.actor_id),
                run_id: if a.resource_type == "run" {
                    Some(a.resource_id.clone())
                } else {
                    str_of(&a.details, "run_id")
                },
                incident_id: if a.resource_type == "incident" {
                    Some(a.resource_id.clone())
                } else {
                    str_of(&a.details, "incident_id")
                },
                actor_id: Some(a.actor_id),
                resource_type: Some(a.resource_type),
                resource_id: Some(a.resource_id),
                context: a.details,
            },
            LogEntry::LlmRun(t) => {
                let level = trace_level(&t).as_str();
                let mut message =
                    format!("run {} of agent {}: {}, {} steps", t.run_id, t.agent_id, t.status, t.step_count);
                if let Some(reason) = &t.violation_reason {
                    message.push_str(&format!(
                        "; violation at step {}: {reason}",
                        t.violation_step_index.unwrap_or(0)
                    ));
                }
                LogItemOut {
                    log_id: t.trace_id.to_string(),
                    topic,
                    timestamp: t.started_at,
                    level,
                    source: t.agent_id.clone(),
                    event: format!("run.{}", t.status),
                    message,
                    actor_id: None,
                    resource_type: Some("run".to_owned()),
                    resource_id: Some(t.run_id.to_string()),
                    run_id: Some(t.run_id.to_string()),
                    incident_id: t.incident_id.map(|i| i.to_string()),
                    context: serde_json::json!({
                        "trace_id": t.trace_id.to_string(),
                        "status": t.status,
                        "step_count": t.step_count,
                        "is_synthetic": t.is_synthetic,
                        "completed_at": t.completed_at.and_then(|c| c.format(&Rfc3339).ok()),
                        "violation_step_index": t.violation_step_index,
                        "violation_policy_id": t.violation_policy_id.map(|p| p.to_string()),
                        "violation_reason": t.violation_reason,
                    }),
                }
            }
        }
    }
}

fn level(v: Option<&str>) -> Result<Option<LogLevel>, ApiError> {
    v.map(|v| {
        v.parse::<LogLevel>().map_err(|_| {
            let allowed: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
            ApiError::validation("level", format!("{v:?} is not one of {}", allowed.join(", ")))
        })
    })
    .transpose()
}

fn topic(v: Option<&str>) -> Result<Option<LogsTopic>, ApiError> {
    v.map(|v| {
        LogsTopic::parse(v)
            .ok_or_else(|| ApiError::validation("topic", format!("{v:?} is not one of {}", LogsTopic::NAMES)))
    })
    .transpose()
}

fn time(field: &str, v: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    v.map(|v| {
        Timestamp::parse(v, &Rfc3339)
            .map_err(|_| ApiError::validation(field, format!("{v:?} is not an RFC 3339 time")))
    })
    .transpose()
}

fn range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, ApiError> {
    let range = TimeRange { from: time("from", from)?, to: time("to", to)? };
    if let (Some(f), Some(t)) = (range.from, range.to)
        && f > t
    {
        return Err(ApiError::validation("from", "must not be after `to`"));
    }
    Ok(range)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SystemLogQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<crate::schema::LogLevelName>)]
    pub level: Option<String>,
    /// Any text; the sources written are listed in docs/API.md.
    pub source: Option<String>,
    /// e.g. `kill_switch.engaged`.
    pub event: Option<String>,
    /// Only events at or after this time.
    #[param(value_type = Option<crate::schema::DateTime>)]
    pub from: Option<String>,
    /// Only events at or before this time (before `from`: 422).
    #[param(value_type = Option<crate::schema::DateTime>)]
    pub to: Option<String>,
}

/// The tenant's system events and the deployment's (start-up, migrations, signing key), newest
/// first.
#[utoipa::path(operation_id = "list_system_logs", tag = "logs", params(SystemLogQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<SystemLogOut>), (status = 422, body = ErrorBody)))]
#[get("/logs/system")]
pub async fn system(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<SystemLogQuery>,
) -> ApiResult<web::Json<ListResponse<SystemLogOut>>> {
    let q = query.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let applied = filters([
        ("level", q.level.as_deref()),
        ("source", q.source.as_deref()),
        ("event", q.event.as_deref()),
        ("from", q.from.as_deref()),
        ("to", q.to.as_deref()),
    ]);
    let filter = SystemLogFilter {
        level: level(q.level.as_deref())?,
        source: q.source,
        event: q.event,
        range: range(q.from.as_deref(), q.to.as_deref())?,
        ..Default::default()
    };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let logs = blocking(move || gov.list_system_logs(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(logs, SystemLogOut::from, applied, "timestamp", SortDirection::Desc)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// One topic; without it, all three merged newest first.
    #[param(value_type = Option<crate::schema::LogsTopicName>)]
    pub topic: Option<String>,
}

/// Entries of every log topic (`llm_runs`, `system`, `audit`) in one shape, newest first.
#[utoipa::path(operation_id = "list_logs", tag = "logs", params(LogsQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<LogItemOut>), (status = 422, body = ErrorBody)))]
#[get("/logs/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<LogsQuery>,
) -> ApiResult<web::Json<ListResponse<LogItemOut>>> {
    let q = query.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let applied = filters([("topic", q.topic.as_deref())]);
    let search = LogSearch { topic: topic(q.topic.as_deref())?, ..Default::default() };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let entries = blocking(move || gov.search_logs(tenant, &search, page)).await?;
    Ok(web::Json(ListResponse::new(entries, LogItemOut::from, applied, "timestamp", SortDirection::Desc)))
}

/// A log search. Every field is optional; a filter a topic has no field for (`actor`,
/// `resource_type`, `resource_id`: audit only; `source`, `event`: system only) leaves that topic
/// out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSearchIn {
    #[schema(value_type = Option<crate::schema::LogsTopicName>)]
    pub topic: Option<String>,
    /// At or after (RFC 3339).
    #[schema(value_type = Option<crate::schema::DateTime>)]
    pub from: Option<String>,
    /// At or before (RFC 3339); before `from`: 422.
    #[schema(value_type = Option<crate::schema::DateTime>)]
    pub to: Option<String>,
    #[schema(value_type = Option<crate::schema::LogLevelName>)]
    pub level: Option<String>,
    /// system: the event's source.
    pub source: Option<String>,
    /// system: the event's machine name.
    pub event: Option<String>,
    /// audit: `actor_id`.
    pub actor: Option<String>,
    /// audit: `resource_type`.
    pub resource_type: Option<String>,
    /// audit: `resource_id`.
    pub resource_id: Option<String>,
    /// The run's entries: audit rows naming it, system events whose context names it, its trace.
    pub run_id: Option<String>,
    /// The incident's entries, likewise.
    pub incident_id: Option<String>,
    /// Case-insensitive substring of the message and details/context.
    #[schema(value_type = Option<crate::schema::Text200>)]
    pub text: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[schema(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
}

/// Searches every log topic; the answer is an O2 list of the merged shape, newest first. With a
/// substring filter (`text`, or `run_id`/`incident_id` inside details and context) each page
/// examines a bounded stretch of rows: it may hold fewer than `page_size` items, even none, and
/// still have a `next_cursor` that goes on with older entries.
#[utoipa::path(operation_id = "search_logs", tag = "logs", request_body = LogSearchIn, security(("bearer" = [])),
    responses((status = 200, body = ListResponse<LogItemOut>), (status = 422, body = ErrorBody)))]
#[post("/logs/search")]
pub async fn search_logs(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    body: web::Json<LogSearchIn>,
) -> ApiResult<web::Json<ListResponse<LogItemOut>>> {
    let b = body.into_inner();
    let page = PageQuery { page: b.page, page_size: b.page_size, cursor: b.cursor.clone() }.request()?;
    let text = b.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::validation("text", "must be at most 200 characters"));
    }
    let mut applied: BTreeMap<String, String> = filters([
        ("topic", b.topic.as_deref()),
        ("from", b.from.as_deref()),
        ("to", b.to.as_deref()),
        ("level", b.level.as_deref()),
        ("source", b.source.as_deref()),
        ("event", b.event.as_deref()),
        ("actor", b.actor.as_deref()),
        ("resource_type", b.resource_type.as_deref()),
        ("resource_id", b.resource_id.as_deref()),
        ("run_id", b.run_id.as_deref()),
        ("incident_id", b.incident_id.as_deref()),
    ]);
    if let Some(t) = &text {
        applied.insert("text".to_owned(), t.clone());
    }
    let search = LogSearch {
        topic: topic(b.topic.as_deref())?,
        range: range(b.from.as_deref(), b.to.as_deref())?,
        level: level(b.level.as_deref())?,
        source: b.source,
        event: b.event,
        actor: b.actor,
        resource_type: b.resource_type,
        resource_id: b.resource_id,
        run_id: b.run_id,
        incident_id: b.incident_id,
        text,
    };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let entries = blocking(move || gov.search_logs(tenant, &search, page)).await?;
    Ok(web::Json(ListResponse::new(entries, LogItemOut::from, applied, "timestamp", SortDirection::Desc)))
}

/// One entry of any topic by id (ids are unique across topics); the answer's `entity.topic`
/// says which. Not a UUID, or not the tenant's: 404.
#[utoipa::path(operation_id = "get_log", tag = "logs", security(("bearer" = [])),
    params(("log_id" = String, Path, description = "An audit or system log id, or a trace id")),
    responses((status = 200, body = Detail<LogItemOut>), (status = 404, body = ErrorBody)))]
#[get("/logs/{log_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<web::Json<Detail<LogItemOut>>> {
    let id = path.into_inner();
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let entry = blocking(move || gov.log_entry(tenant, &id)).await?;
    let trace = matches!(entry, LogEntry::LlmRun(_));
    let actions = if trace { vec![Action::new("view_trace", "View trace", true)] } else { vec![] };
    Ok(web::Json(Detail { entity: entry.into(), actions }))
}
