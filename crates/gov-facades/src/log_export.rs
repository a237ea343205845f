//! Log exports (`POST /api/v1/logs/export`): the rows of one log topic, read in keyset pages up
//! to where the log ended when the export began, and at the end a signed manifest of what was
//! sent. The caller streams the pages; this module never holds more than one page.

use std::collections::BTreeMap;

use gov_model::{
    AuditEntry, EvidenceExport, ExportFormat, ExportId, ExportKind, TenantId, Timestamp, TraceSummary,
};
use gov_store::audit::{self as audit_store, AuditFilter, TimeRange};
use gov_store::traces::{self, TraceFilter, TraceKey};

use gov_evidence::chain::canonical_time;
use gov_evidence::{LogExportManifest, MANIFEST_SCHEMA};

use crate::exports::NewExport;
use crate::{Caller, Error, Gov, Result};

/// The log topics that can be exported (seed 000 §12.5); `system` has no log yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTopic {
    LlmRuns,
    Audit,
}

impl LogTopic {
    pub const ALL: [LogTopic; 2] = [LogTopic::LlmRuns, LogTopic::Audit];

    pub const fn as_str(self) -> &'static str {
        match self {
            LogTopic::LlmRuns => "llm_runs",
            LogTopic::Audit => "audit",
        }
    }

    /// The topic named `name`, or why not (naming the topics that exist).
    pub fn parse(name: &str) -> Result<LogTopic> {
        LogTopic::ALL.into_iter().find(|t| t.as_str() == name).ok_or_else(|| {
            let known = if name == "system" { "system logs are not recorded yet; " } else { "" };
            Error::invalid(
                "topic",
                format!("{name:?} is not a log topic ({known}the topics are llm_runs and audit)"),
            )
        })
    }

    /// The order rows are exported in, as the manifest states it.
    pub const fn order(self) -> &'static str {
        match self {
            LogTopic::LlmRuns => "started_at asc, trace_id asc",
            LogTopic::Audit => "seq asc",
        }
    }
}

/// Which rows of which topic: the list endpoint's filters plus a time range (inclusive, on
/// `timestamp` for audit rows and `started_at` for LLM runs).
#[derive(Debug, Clone)]
pub enum LogSelection {
    LlmRuns(TraceFilter),
    Audit(AuditFilter),
}

#[derive(Debug, Clone)]
pub struct LogExportSpec {
    pub selection: LogSelection,
    pub range: TimeRange,
}

impl LogExportSpec {
    pub fn topic(&self) -> LogTopic {
        match self.selection {
            LogSelection::LlmRuns(_) => LogTopic::LlmRuns,
            LogSelection::Audit(_) => LogTopic::Audit,
        }
    }

    /// Refuses a range that ends before it starts.
    pub fn validate(&self) -> Result<()> {
        match (self.range.from, self.range.to) {
            (Some(from), Some(to)) if to < from => Err(Error::invalid("to", "is before from")),
            _ => Ok(()),
        }
    }

    /// The filters given, by request field name, for the manifest.
    pub fn filters(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.insert(k.to_owned(), v);
            }
        };
        match &self.selection {
            LogSelection::LlmRuns(f) => {
                put("status", f.status.clone());
                put("agent_id", f.agent_id.clone());
                put("run_id", f.run_id.map(|r| r.to_string()));
                put("has_violation", f.has_violation.map(|b| b.to_string()));
            }
            LogSelection::Audit(f) => {
                put("action", f.action.clone());
                put("resource_type", f.resource_type.clone());
                put("resource_id", f.resource_id.clone());
                put("actor_id", f.actor_id.clone());
            }
        }
        put("from", self.range.from.map(canonical_time));
        put("to", self.range.to.map(canonical_time));
        out
    }
}

/// Where a log export is: the end fixed when it began and the last row sent.
#[derive(Debug, Clone)]
pub struct LogCursor {
    position: Position,
    done: bool,
}

#[derive(Debug, Clone)]
enum Position {
    /// `after < seq <= upto`.
    Audit { after: i64, upto: i64 },
    /// `after < key <= upto`; no `upto` when the tenant had no trace.
    LlmRuns { after: Option<TraceKey>, upto: Option<TraceKey> },
}

/// A log export that has begun: its id (the future export record's), when, and its first cursor.
#[derive(Debug, Clone)]
pub struct LogExportStart {
    pub export_id: ExportId,
    pub started_at: Timestamp,
    pub cursor: LogCursor,
}

/// One page of exported rows, oldest first.
#[derive(Debug, Clone)]
pub enum LogRows {
    LlmRuns(Vec<TraceSummary>),
    Audit(Vec<AuditEntry>),
}

impl LogRows {
    pub fn len(&self) -> usize {
        match self {
            LogRows::LlmRuns(rows) => rows.len(),
            LogRows::Audit(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A log export whose body was sent to its end: what the manifest states.
#[derive(Debug, Clone)]
pub struct FinishedLogExport {
    pub export_id: ExportId,
    pub spec: LogExportSpec,
    /// `Json` or `Csv`.
    pub format: ExportFormat,
    pub started_at: Timestamp,
    pub row_count: u64,
    pub body_bytes: u64,
    pub body_blake3: String,
}

impl LogCursor {
    /// Whether the last page was read.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// The manifest of a finished export (unsealed).
pub(crate) fn manifest(
    tenant: TenantId,
    done: &FinishedLogExport,
    completed_at: Timestamp,
    generated_by: &str,
) -> LogExportManifest {
    LogExportManifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        export_id: done.export_id.to_string(),
        tenant_id: tenant.to_string(),
        topic: done.spec.topic().as_str().to_owned(),
        format: done.format.as_str().to_owned(),
        filters: done.spec.filters(),
        order: done.spec.topic().order().to_owned(),
        row_count: done.row_count,
        body_bytes: done.body_bytes,
        body_blake3: done.body_blake3.clone(),
        started_at: canonical_time(done.started_at),
        completed_at: canonical_time(completed_at),
        generated_by: generated_by.to_owned(),
        gov_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

impl Gov {
    /// Begins a log export of `tenant`: checks `spec` and fixes where it ends (the log's last
    /// row now), so rows written while it streams are not in it.
    pub fn begin_log_export(&self, tenant: TenantId, spec: &LogExportSpec) -> Result<LogExportStart> {
        spec.validate()?;
        let started_at = self.clock.now();
        let position = match spec.topic() {
            LogTopic::Audit => {
                Position::Audit { after: 0, upto: self.db.read(|c| audit_store::last_seq(c, tenant))? }
            }
            LogTopic::LlmRuns => {
                Position::LlmRuns { after: None, upto: self.db.read(|c| traces::last_key(c, tenant))? }
            }
        };
        Ok(LogExportStart {
            export_id: ExportId::new(),
            started_at,
            cursor: LogCursor { position, done: false },
        })
    }

    /// The next page of at most `limit` rows after `cursor`, and the cursor after it. An empty
    /// page means the export has sent every row.
    pub fn log_export_page(
        &self,
        tenant: TenantId,
        spec: &LogExportSpec,
        mut cursor: LogCursor,
        limit: i64,
    ) -> Result<(LogRows, LogCursor)> {
        if cursor.done {
            return Ok((empty(spec.topic()), cursor));
        }
        let rows = match (&spec.selection, &mut cursor.position) {
            (LogSelection::Audit(filter), Position::Audit { after, upto }) => {
                let page = self.db.read(|c| {
                    audit_store::export_page(c, tenant, filter, spec.range, *after, *upto, limit)
                })?;
                if let Some((seq, _)) = page.last() {
                    *after = *seq;
                }
                LogRows::Audit(page.into_iter().map(|(_, e)| e).collect())
            }
            (LogSelection::LlmRuns(filter), Position::LlmRuns { after, upto }) => {
                let Some(upto) = upto else {
                    cursor.done = true;
                    return Ok((empty(spec.topic()), cursor));
                };
                let page = self.db.read(|c| {
                    traces::export_page(c, tenant, filter, spec.range, after.as_ref(), upto, limit)
                })?;
                if let Some(last) = page.last() {
                    *after = Some((last.started_at, last.trace_id));
                }
                LogRows::LlmRuns(page)
            }
            _ => return Err(Error::Internal("a log export cursor of another topic".into())),
        };
        cursor.done = (rows.len() as i64) < limit;
        Ok((rows, cursor))
    }
}

impl Gov {
    /// Records a log export whose body was sent to its end: seals its manifest with the
    /// deployment key and writes the `evidence_exports` row (kind `logs`, no artifact, the sealed
    /// manifest as document) and its audit row in one transaction. Returns the record.
    pub fn finish_log_export(&self, caller: &Caller, done: FinishedLogExport) -> Result<EvidenceExport> {
        let manifest = manifest(caller.tenant_id, &done, self.clock.now(), &caller.actor.id);
        let (key, _) = self.signing_key()?;
        let sealed = gov_evidence::seal(&manifest, &key);
        self.record_export(
            caller,
            NewExport {
                export_id: done.export_id,
                kind: ExportKind::Logs,
                format: done.format,
                incident_id: None,
                run_id: None,
                bundle_id: done.export_id.to_string(),
                bundle_hash: sealed.bundle_hash,
                key_id: sealed.key_id,
                reason: None,
                artifact: None,
                size_bytes: i64::try_from(done.body_bytes).unwrap_or(i64::MAX),
                document: sealed.bytes,
            },
        )
    }
}

fn empty(topic: LogTopic) -> LogRows {
    match topic {
        LogTopic::LlmRuns => LogRows::LlmRuns(Vec::new()),
        LogTopic::Audit => LogRows::Audit(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_and_an_unknown_one_names_those_that_exist() {
        assert_eq!(LogTopic::parse("audit").unwrap(), LogTopic::Audit);
        assert_eq!(LogTopic::parse("llm_runs").unwrap(), LogTopic::LlmRuns);
        for (name, says) in [("system", "system logs are not recorded yet"), ("AUDIT", "llm_runs and audit")]
        {
            let err = LogTopic::parse(name).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("topic"), "{err}");
        }
    }
}
