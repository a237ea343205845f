//! Exports of evidence (seed 000 §7.1 step 7, GAP-004/005/008): an incident's records are read,
//! built into a bundle by `gov_evidence`, sealed with the deployment key, rendered by
//! `gov_report` when a PDF is asked for, and then written as an immutable export row with its
//! audit row in one transaction. Building, sealing and rendering happen before that transaction,
//! so the SQLite writer thread never waits on them.

use gov_evidence::{EvidenceRecords, Generation, Integrity, Sealed};
use gov_model::{
    EvidenceExport, ExportFormat, ExportId, ExportKind, IncidentId, NewAuditEntry, Page, PageRequest, RunId,
    TenantId, TraceStep, TraceSummary,
};
use gov_store::exports::{self, ExportFilter};
use gov_store::{Conn, StoreError, audit as audit_rows, evidence, incidents, runs, snapshots, traces};
use serde_json::json;

use crate::audit;
use crate::error::OrNotFound;
use crate::{Caller, Error, Gov, Result, validate};

/// Longest accepted export reason.
pub const MAX_REASON_CHARS: usize = 1000;

/// An export made: its record and the bytes to serve (those stored as its artifact).
#[derive(Debug, Clone)]
pub struct Exported {
    pub export: EvidenceExport,
    pub artifact: Vec<u8>,
}

/// The evidence view (seed §8.5 O5) of an incident or a run: what it is, a page of its trace's
/// steps, and the exports made of it, newest first.
#[derive(Debug, Clone)]
pub struct EvidenceView {
    pub incident_id: Option<IncidentId>,
    pub run_id: Option<RunId>,
    pub trace: Option<TraceSummary>,
    pub steps: Page<TraceStep>,
    pub exports: Vec<EvidenceExport>,
}

/// At most this many exports are listed in an evidence view (the newest); `GET
/// /api/v1/exports/?incident_id=` pages through all of them.
pub const VIEW_EXPORTS: u32 = 200;

/// An export to record. The caller has built, sealed and (for a report) rendered it already,
/// outside any transaction; `export_id` is drawn by the caller so a signed document can name it.
#[derive(Debug, Clone)]
pub struct NewExport {
    pub export_id: ExportId,
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub incident_id: Option<IncidentId>,
    pub run_id: Option<RunId>,
    pub bundle_id: String,
    pub bundle_hash: String,
    pub key_id: String,
    pub reason: Option<String>,
    /// The bytes served; `None` for a streamed log export, whose body is not kept.
    pub artifact: Option<Vec<u8>>,
    /// Size of what was served: the artifact's, or a streamed body's.
    pub size_bytes: i64,
    /// The signed JSON document (the bundle a report was rendered from, a log export's manifest).
    pub document: Vec<u8>,
}

impl Gov {
    /// Writes an export's immutable row and its audit row (`evidence.exported`) in one
    /// transaction.
    pub fn record_export(&self, caller: &Caller, new: NewExport) -> Result<EvidenceExport> {
        let now = self.clock.now();
        let caller = caller.clone();
        let export = EvidenceExport {
            export_id: new.export_id,
            tenant_id: caller.tenant_id,
            kind: new.kind,
            format: new.format,
            incident_id: new.incident_id,
            run_id: new.run_id,
            bundle_id: new.bundle_id,
            bundle_hash: new.bundle_hash,
            key_id: new.key_id,
            content_type: new.format.content_type().to_owned(),
            size_bytes: new.size_bytes,
            created_by: caller.actor.id.clone(),
            // What the database keeps (microseconds), so the answer equals a later read.
            created_at: now.replace_nanosecond(now.microsecond() * 1000).unwrap_or(now),
            reason: new.reason,
        };
        let (artifact, document) = (new.artifact, new.document);
        self.db.write(move |c| {
            exports::insert(c, &export, artifact.as_deref(), &document)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "evidence.exported",
                    resource_type: "evidence_export",
                    resource_id: export.export_id.to_string(),
                    details: json!({
                        "kind": export.kind.as_str(),
                        "format": export.format.as_str(),
                        "incident_id": export.incident_id.map(|i| i.to_string()),
                        "run_id": export.run_id.map(|r| r.to_string()),
                        "bundle_id": export.bundle_id,
                        "bundle_hash": export.bundle_hash,
                        "key_id": export.key_id,
                        "size_bytes": export.size_bytes,
                        "reason": export.reason,
                    }),
                },
                now,
            )?;
            crate::logs::record(
                c,
                crate::logs::Event {
                    tenant: Some(caller.tenant_id),
                    level: gov_model::LogLevel::Info,
                    source: gov_model::LogSource::Exports,
                    event: "export.created",
                    message: format!(
                        "{} export {} ({}, {} bytes) by {}",
                        export.kind.as_str(),
                        export.export_id,
                        export.format.as_str(),
                        export.size_bytes,
                        caller.actor.id
                    ),
                    context: json!({
                        "export_id": export.export_id.to_string(),
                        "kind": export.kind.as_str(),
                        "format": export.format.as_str(),
                        "incident_id": export.incident_id.map(|i| i.to_string()),
                        "run_id": export.run_id.map(|r| r.to_string()),
                        "key_id": export.key_id,
                    }),
                },
                now,
            )?;
            Ok(export)
        })
    }

    pub fn get_export(&self, tenant: TenantId, id: ExportId) -> Result<EvidenceExport> {
        self.db.read(|c| exports::get(c, tenant, id).or_not_found("export"))
    }

    /// An export's record and the bytes it served (`None` for a log export).
    pub fn export_artifact(
        &self,
        tenant: TenantId,
        id: ExportId,
    ) -> Result<(EvidenceExport, Option<Vec<u8>>)> {
        self.db.read(|c| exports::artifact(c, tenant, id).or_not_found("export"))
    }

    /// An export's record and its signed JSON document.
    pub fn export_document(&self, tenant: TenantId, id: ExportId) -> Result<(EvidenceExport, Vec<u8>)> {
        self.db.read(|c| exports::document(c, tenant, id).or_not_found("export"))
    }

    /// A tenant's exports, newest first.
    pub fn list_exports(
        &self,
        tenant: TenantId,
        filter: &ExportFilter,
        page: PageRequest,
    ) -> Result<Page<EvidenceExport>> {
        Ok(self.db.read(|c| exports::list(c, tenant, filter, page))?)
    }
}

impl Gov {
    /// Everything stored about an incident and its run, read on one connection: each table in
    /// one query (a trace's steps too), so the cost grows with the rows, not with round trips.
    pub fn evidence_records(&self, tenant: TenantId, id: IncidentId) -> Result<EvidenceRecords> {
        self.db.read(|c| read_records(c, tenant, id))
    }

    /// Exports `incident` as `kind` (`evidence`, `soc2` or `executive_debrief`) in `format`
    /// (`json`; `pdf` for the two reports): builds the bundle, seals it, renders it if asked, and
    /// records the export with its audit row.
    pub fn export_incident(
        &self,
        caller: &Caller,
        incident: IncidentId,
        kind: ExportKind,
        format: ExportFormat,
        reason: Option<&str>,
    ) -> Result<Exported> {
        match (kind, format) {
            (ExportKind::Evidence, ExportFormat::Json)
            | (ExportKind::Soc2 | ExportKind::ExecutiveDebrief, ExportFormat::Json | ExportFormat::Pdf) => {}
            (ExportKind::Logs, _) => {
                return Err(Error::invalid("kind", "log exports are made with POST /api/v1/logs/export"));
            }
            (_, other) => {
                return Err(Error::invalid(
                    "format",
                    format!("{} exports are not made as {other}", kind.as_str()),
                ));
            }
        }
        let reason = reason.map(|r| validate::text("reason", r, MAX_REASON_CHARS)).transpose()?;
        let records = self.evidence_records(caller.tenant_id, incident)?;
        let (key, _) = self.signing_key()?;
        let export_id = ExportId::new();
        let generation = Generation {
            bundle_id: export_id.to_string(),
            generated_at: self.clock.now(),
            generated_by: caller.actor.id.clone(),
            gov_version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let evidence = gov_evidence::evidence_bundle(&records, &generation);
        let (sealed, artifact) = match kind {
            ExportKind::Soc2 => {
                let bundle = gov_evidence::soc2_bundle(evidence);
                let sealed = gov_evidence::seal(&bundle, &key);
                let pdf = match format {
                    ExportFormat::Pdf => Some(gov_report::render_soc2_pdf(&bundle, &integrity_of(&sealed)?)),
                    _ => None,
                };
                (sealed, pdf)
            }
            ExportKind::ExecutiveDebrief => {
                let bundle = gov_evidence::executive_debrief(evidence);
                let sealed = gov_evidence::seal(&bundle, &key);
                let pdf = match format {
                    ExportFormat::Pdf => {
                        Some(gov_report::render_executive_debrief_pdf(&bundle, &integrity_of(&sealed)?))
                    }
                    _ => None,
                };
                (sealed, pdf)
            }
            _ => (gov_evidence::seal(&evidence, &key), None),
        };
        let artifact = match artifact {
            Some(rendered) => rendered.map_err(|e| Error::Internal(e.to_string()))?,
            None => sealed.bytes.clone(),
        };
        let new = NewExport {
            export_id,
            kind,
            format,
            incident_id: Some(incident),
            run_id: records.run.as_ref().map(|r| r.run_id),
            bundle_id: generation.bundle_id,
            bundle_hash: sealed.bundle_hash,
            key_id: sealed.key_id,
            reason,
            size_bytes: artifact.len() as i64,
            artifact: Some(artifact.clone()),
            document: sealed.bytes,
        };
        let export = self.record_export(caller, new)?;
        Ok(Exported { export, artifact })
    }

    /// The O5 view of an incident: its trace's steps (one page) and its exports.
    pub fn incident_evidence(
        &self,
        tenant: TenantId,
        id: IncidentId,
        steps: PageRequest,
    ) -> Result<EvidenceView> {
        self.db.read(|c| {
            let incident = incidents::get(c, tenant, id).or_not_found("incident")?;
            let trace = match incident.trace_id {
                Some(trace) => Some(traces::get(c, tenant, trace)?),
                None => None,
            };
            let filter = ExportFilter { incident_id: Some(id), ..ExportFilter::default() };
            Ok(view(c, tenant, Some(id), incident.source_run_id, trace, filter, steps)?)
        })
    }

    /// The O5 view of a run: its trace's steps (one page) and the exports of its incident.
    pub fn run_evidence(&self, tenant: TenantId, id: RunId, steps: PageRequest) -> Result<EvidenceView> {
        self.db.read(|c| {
            let run = runs::get(c, tenant, id).or_not_found("run")?;
            let trace = traces::get(c, tenant, run.trace_id)?;
            let filter = ExportFilter { run_id: Some(id), ..ExportFilter::default() };
            Ok(view(c, tenant, run.incident_id, Some(id), Some(trace), filter, steps)?)
        })
    }
}

fn view(
    c: &mut Conn<'_>,
    tenant: TenantId,
    incident_id: Option<IncidentId>,
    run_id: Option<RunId>,
    trace: Option<TraceSummary>,
    filter: ExportFilter,
    steps: PageRequest,
) -> Result<EvidenceView, StoreError> {
    let steps = match &trace {
        Some(t) => traces::steps(c, tenant, t.trace_id, steps)?,
        None => Page::whole(Vec::new(), 0, steps),
    };
    let newest = PageRequest::new(1, VIEW_EXPORTS).unwrap_or_default();
    let exports = exports::list(c, tenant, &filter, newest)?.items;
    Ok(EvidenceView { incident_id, run_id, trace, steps, exports })
}

fn read_records(c: &mut Conn<'_>, tenant: TenantId, id: IncidentId) -> Result<EvidenceRecords> {
    let incident = incidents::get(c, tenant, id).or_not_found("incident")?;
    let timeline = incidents::events(c, tenant, id)?;
    let comments = incidents::all_comments(c, tenant, id)?;
    let run = match incident.source_run_id {
        Some(run) => Some(runs::get(c, tenant, run)?),
        None => None,
    };
    let trace_id = run.as_ref().map(|r| r.trace_id).or(incident.trace_id);
    let trace = match trace_id {
        Some(trace) => Some(traces::get(c, tenant, trace)?),
        None => None,
    };
    let steps = match &trace {
        Some(t) => traces::all_steps(c, tenant, t.trace_id)?,
        None => Vec::new(),
    };
    let snapshot = match &run {
        Some(r) => Some(snapshots::get(c, tenant, r.policy_snapshot_id)?),
        None => None,
    };
    let run_id = run.as_ref().map(|r| r.run_id);
    let prevention_records = evidence::prevention_of(c, tenant, run_id, id)?;
    let (signals, overrides, cost_records) = match run_id {
        Some(r) => (
            evidence::signals_of(c, tenant, r)?,
            evidence::overrides_of(c, tenant, r)?,
            evidence::costs_of(c, tenant, r)?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let mut about = vec![id.to_string()];
    about.extend(run_id.map(|r| r.to_string()));
    let audit = audit_rows::about(c, tenant, &about)?;
    Ok(EvidenceRecords {
        incident,
        timeline,
        comments,
        run,
        trace,
        steps,
        snapshot,
        prevention_records,
        signals,
        overrides,
        cost_records,
        audit,
    })
}

/// The `integrity` member `seal` put into the document (a PDF's footer names it).
fn integrity_of(sealed: &Sealed) -> Result<Integrity> {
    let document: serde_json::Value = serde_json::from_slice(&sealed.bytes)
        .map_err(|e| Error::Internal(format!("a sealed document does not parse: {e}")))?;
    serde_json::from_value(document["integrity"].clone())
        .map_err(|e| Error::Internal(format!("a sealed document has no integrity member: {e}")))
}
