//! The Logs domain (seed 000 §12.5): system events (`system_logs`), and one newest-first view
//! over the three log topics (`llm_runs`: trace summaries, `system`: system events, `audit`: the
//! audit trail), with lookup of one entry by id and a search across topics.
//!
//! System events are written by the facade whose change they report, in that change's
//! transaction ([`record`]); events that change nothing else (a refused run) are written at most
//! once per key ([`record_once`]).

use gov_model::{
    AuditEntry, AuditLogId, LogLevel, LogSource, Page, PageRequest, Source, SystemLog, SystemLogId, TenantId,
    TimeKey, Timestamp, TraceId, TraceSummary, merge,
};
use gov_store::audit::TimeRange;
use gov_store::log_search::{self, AuditSearch, Slice, TraceSearch};
use gov_store::system_logs::{self, SystemLogFilter};
use gov_store::{Conn, StoreError};
use serde_json::Value;
use uuid::Uuid;

use crate::error::OrNotFound;
use crate::{Error, Gov, Result};

/// One system event to write.
#[derive(Debug, Clone)]
pub(crate) struct Event<'a> {
    /// `None`: an event of the whole deployment.
    pub tenant: Option<TenantId>,
    pub level: LogLevel,
    pub source: LogSource,
    pub event: &'a str,
    pub message: String,
    pub context: Value,
}

impl Event<'_> {
    fn into_log(self, id: SystemLogId, now: Timestamp) -> SystemLog {
        SystemLog {
            log_id: id,
            tenant_id: self.tenant,
            level: self.level,
            source: self.source,
            event: self.event.to_owned(),
            message: self.message,
            timestamp: now,
            context: self.context,
        }
    }
}

/// Writes one system event inside the caller's transaction.
pub(crate) fn record(
    conn: &mut Conn<'_>,
    event: Event<'_>,
    now: Timestamp,
) -> Result<SystemLogId, StoreError> {
    let id = SystemLogId::new();
    system_logs::insert(conn, &event.into_log(id, now))?;
    Ok(id)
}

/// Writes one system event unless one with the same `key` was written: the row's id is derived
/// from the key (blake3, shaped as a UUID), so "once per key" holds across replicas without
/// in-process state. Whether it was written.
pub(crate) fn record_once(
    conn: &mut Conn<'_>,
    key: &str,
    event: Event<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let hash = blake3::hash(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    // Version 8 (custom), RFC 9562 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let id = SystemLogId::from_uuid(Uuid::from_bytes(bytes));
    system_logs::insert_if_absent(conn, &event.into_log(id, now))
}

/// The three log topics of `/logs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsTopic {
    LlmRuns,
    System,
    Audit,
}

impl LogsTopic {
    pub const ALL: [LogsTopic; 3] = [LogsTopic::LlmRuns, LogsTopic::System, LogsTopic::Audit];
    pub const NAMES: &'static str = "llm_runs, system, audit";

    pub const fn as_str(self) -> &'static str {
        match self {
            LogsTopic::LlmRuns => "llm_runs",
            LogsTopic::System => "system",
            LogsTopic::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One entry of any topic.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    LlmRun(TraceSummary),
    System(SystemLog),
    Audit(AuditEntry),
}

impl LogEntry {
    pub fn topic(&self) -> LogsTopic {
        match self {
            LogEntry::LlmRun(_) => LogsTopic::LlmRuns,
            LogEntry::System(_) => LogsTopic::System,
            LogEntry::Audit(_) => LogsTopic::Audit,
        }
    }

    pub fn timestamp(&self) -> Timestamp {
        match self {
            LogEntry::LlmRun(t) => t.started_at,
            LogEntry::System(s) => s.timestamp,
            LogEntry::Audit(a) => a.timestamp,
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            LogEntry::LlmRun(t) => *t.trace_id.as_uuid(),
            LogEntry::System(s) => *s.log_id.as_uuid(),
            LogEntry::Audit(a) => *a.id.as_uuid(),
        }
    }

    /// The entry's place in the merged order (newest first); the topics share it.
    pub fn key(&self) -> TimeKey {
        (self.timestamp(), self.id())
    }
}

/// A search across topics; `None` fields match everything. A filter that a topic has no field
/// for (`actor`, `resource`: audit only; `source`, `event`: system only) excludes that topic.
#[derive(Debug, Clone, Default)]
pub struct LogSearch {
    pub topic: Option<LogsTopic>,
    pub range: TimeRange,
    pub level: Option<LogLevel>,
    pub source: Option<String>,
    pub event: Option<String>,
    pub actor: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub run_id: Option<String>,
    pub incident_id: Option<String>,
    pub text: Option<String>,
}

impl LogSearch {
    fn wants(&self, topic: LogsTopic) -> bool {
        if self.topic.is_some_and(|t| t != topic) {
            return false;
        }
        match topic {
            LogsTopic::System => {
                self.actor.is_none() && self.resource_type.is_none() && self.resource_id.is_none()
            }
            LogsTopic::Audit => {
                self.source.is_none()
                    && self.event.is_none()
                    && self.level.is_none_or(|l| l == LogLevel::Info)
            }
            LogsTopic::LlmRuns => {
                self.source.is_none()
                    && self.event.is_none()
                    && self.actor.is_none()
                    && self.resource_type.is_none()
                    && self.resource_id.is_none()
                    && self.level.is_none_or(|l| matches!(l, LogLevel::Info | LogLevel::Warning))
            }
        }
    }
}

/// Level of a trace summary in the merged view: `warning` when the run hit a violation.
pub fn trace_level(t: &TraceSummary) -> LogLevel {
    if t.violation_step_index.is_some() { LogLevel::Warning } else { LogLevel::Info }
}

impl Gov {
    /// Records that the tenant's run was refused by a THROTTLE tripwire: the refusal's own
    /// transaction rolled back, so this is a transaction of its own, and at most one row per
    /// tenant, domain and minute (a deterministic id, insert-if-absent). Best effort: a failure
    /// is traced, never the caller's error.
    pub(crate) fn log_throttled(&self, tenant: TenantId, domain: &str, message: &str, now: Timestamp) {
        let minute = now.unix_timestamp().div_euclid(60);
        let key = format!("run.throttled:{tenant}:{domain}:{minute}");
        let event = Event {
            tenant: Some(tenant),
            level: LogLevel::Warning,
            source: LogSource::Regression,
            event: "run.throttled",
            message: message.to_owned(),
            context: serde_json::json!({ "domain": domain, "minute": minute * 60 }),
        };
        if let Err(e) = self.db.write(move |c| record_once(c, &key, event, now)) {
            tracing::warn!(error = %e, "could not record a throttled run");
        }
    }

    /// Records the server's start (a deployment-wide event).
    pub fn log_startup(&self, version: &str, listen: &str) -> Result<()> {
        let backend = match self.backend() {
            gov_store::Backend::Sqlite => "sqlite",
            gov_store::Backend::Postgres => "postgres",
        };
        let now = self.clock.now();
        let event = Event {
            tenant: None,
            level: LogLevel::Info,
            source: LogSource::Startup,
            event: "server.started",
            message: format!("gov {version} started on {listen} ({backend})"),
            context: serde_json::json!({ "version": version, "backend": backend, "listen": listen }),
        };
        Ok(self.db.write(move |c| record(c, event, now).map(|_| ()))?)
    }

    /// Records the migrations just applied (a deployment-wide event); nothing when none were.
    pub(crate) fn log_migrations(&self, applied: &[String]) -> Result<()> {
        if applied.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let event = Event {
            tenant: None,
            level: LogLevel::Info,
            source: LogSource::Migrations,
            event: "migrations.applied",
            message: format!("{} migrations applied: {}", applied.len(), applied.join(", ")),
            context: serde_json::json!({ "migrations": applied }),
        };
        Ok(self.db.write(move |c| record(c, event, now).map(|_| ()))?)
    }

    /// System events the tenant may see (its own and deployment-wide), newest first.
    pub fn list_system_logs(
        &self,
        tenant: TenantId,
        filter: &SystemLogFilter,
        page: PageRequest,
    ) -> Result<Page<SystemLog>> {
        Ok(self.db.read(|c| system_logs::list(c, tenant, filter, page))?)
    }

    /// Entries of every topic `search` selects, merged newest first (`timestamp`, then id), by
    /// keyset: the topics share that order, so after a cursor each reads at most the page and a
    /// probe row from its `(tenant_id, time, id)` index. `?page=N` reads each topic's first
    /// `offset + limit` rows instead. Totals are the topics' capped totals, summed.
    pub fn search_logs(
        &self,
        tenant: TenantId,
        search: &LogSearch,
        page: PageRequest,
    ) -> Result<Page<LogEntry>> {
        if let (Some(from), Some(to)) = (search.range.from, search.range.to)
            && from > to
        {
            return Err(Error::invalid("from", "must not be after `to`"));
        }
        let after = page.cursor().map(|c| c.time_key().ok_or(StoreError::BadCursor)).transpose()?;
        let selected: Vec<LogsTopic> = LogsTopic::ALL.into_iter().filter(|t| search.wants(*t)).collect();
        // One topic skips in SQL; several read the rows before the page too and skip after merging.
        let (skip, slice) = match selected.as_slice() {
            [_] => (0, Slice { after, offset: page.offset(), limit: page.probe_limit() }),
            _ => (page.offset(), Slice { after, offset: 0, limit: page.offset() + page.probe_limit() }),
        };
        let sources = self.db.read(|c| {
            selected
                .iter()
                .map(|topic| self.topic_rows(c, tenant, *topic, search, slice))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut merged = merge(sources, LogEntry::key, usize::try_from(slice.limit).unwrap_or(usize::MAX));
        merged.rows.drain(..usize::try_from(skip).unwrap_or(usize::MAX).min(merged.rows.len()));
        Ok(Page::from_source(merged, page, LogEntry::key))
    }

    fn topic_rows(
        &self,
        c: &mut Conn<'_>,
        tenant: TenantId,
        topic: LogsTopic,
        s: &LogSearch,
        slice: Slice,
    ) -> Result<Source<LogEntry>> {
        Ok(match topic {
            LogsTopic::System => {
                let filter = SystemLogFilter {
                    level: s.level,
                    source: s.source.clone(),
                    event: s.event.clone(),
                    range: s.range,
                    context_contains: s.run_id.iter().chain(s.incident_id.iter()).cloned().collect(),
                    text: s.text.clone(),
                };
                system_logs::search(c, tenant, &filter, slice)?.map(LogEntry::System)
            }
            LogsTopic::Audit => {
                let filter = AuditSearch {
                    range: s.range,
                    actor_id: s.actor.clone(),
                    resource_type: s.resource_type.clone(),
                    resource_id: s.resource_id.clone(),
                    mentions: s.run_id.iter().chain(s.incident_id.iter()).cloned().collect(),
                    text: s.text.clone(),
                };
                log_search::audit(c, tenant, &filter, slice)?.map(LogEntry::Audit)
            }
            LogsTopic::LlmRuns => {
                let filter = TraceSearch {
                    range: s.range,
                    has_violation: s.level.map(|l| l == LogLevel::Warning),
                    run_id: s.run_id.clone(),
                    incident_id: s.incident_id.clone(),
                    text: s.text.clone(),
                };
                log_search::traces(c, tenant, &filter, slice)?.map(LogEntry::LlmRun)
            }
        })
    }

    /// One entry of any topic by id (ids are UUIDs, unique across topics). Not the tenant's
    /// (or not an id at all): not found.
    pub fn log_entry(&self, tenant: TenantId, id: &str) -> Result<LogEntry> {
        let Ok(uuid) = id.parse::<Uuid>() else {
            return Err(Error::NotFound("log entry"));
        };
        self.db.read(|c| {
            match log_search::audit_entry(c, tenant, AuditLogId::from_uuid(uuid)) {
                Ok(a) => return Ok(LogEntry::Audit(a)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            match system_logs::get(c, tenant, SystemLogId::from_uuid(uuid)) {
                Ok(s) => return Ok(LogEntry::System(s)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            log_search::trace(c, tenant, TraceId::from_uuid(uuid))
                .map(LogEntry::LlmRun)
                .or_not_found("log entry")
        })
    }
}
