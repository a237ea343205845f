//! `POST /api/v1/logs/export`: one log topic as JSON or RFC 4180 CSV, streamed in constant
//! memory, ending with a signed manifest of the exact bytes sent (`GET /api/v1/exports/{id}`).
//!
//! A producer task reads keyset pages in blocking calls, encodes each page, hashes and counts
//! the bytes, and hands the chunks through a bounded channel to the response body. When the
//! producer has sent the last chunk, the body (which only asks for more once every chunk before
//! was written out) records the export; so a client that goes away mid-stream leaves no record,
//! and one that read the body to its end finds the manifest.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, post, web};
use gov_facades::{
    AuditQuery, Caller, Gov, LogCursor, LogExportSpec, LogRows, LogSelection, LogTopic, TimeRange,
    TraceFilter,
};
use gov_model::{ExportFormat, ExportId, RunId, TenantId, Timestamp};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::logs::AuditLogOut;
use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::parse_field;
use crate::state::AppState;
use crate::wire::trace::TraceOut;

/// Rows per keyset page (one blocking read, one chunk of the body).
const PAGE_ROWS: i64 = 1000;
/// Chunks the producer may run ahead of the client: memory is bounded by this many pages.
const CHANNEL_CHUNKS: usize = 2;

/// What to export. The filters are those of the topic's list endpoint (`GET /api/v1/logs/audit`,
/// `GET /api/v1/logs/llm-runs`); a filter of the other topic is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogExportIn {
    /// `llm_runs` or `audit` (`system` logs are not recorded yet).
    #[schema(value_type = crate::schema::LogTopicName)]
    pub topic: String,
    /// `json` (an array of the list endpoint's items) or `csv` (RFC 4180, header row, CRLF).
    #[schema(value_type = crate::schema::LogExportFormat)]
    pub format: String,
    /// audit: e.g. `api_key.created`.
    pub action: Option<String>,
    /// audit: e.g. `api_key`, `user`, `tenant`.
    pub resource_type: Option<String>,
    /// audit.
    pub resource_id: Option<String>,
    /// audit.
    pub actor_id: Option<String>,
    /// llm_runs: running, succeeded, failed, failed_policy, cancelled.
    pub status: Option<String>,
    /// llm_runs.
    pub agent_id: Option<String>,
    /// llm_runs.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    /// llm_runs: true, only traces with an inflection point.
    pub has_violation: Option<bool>,
    /// Only rows at or after this time (audit: `timestamp`; llm_runs: `started_at`).
    #[schema(value_type = Option<crate::schema::DateTime>)]
    pub from: Option<String>,
    /// Only rows at or before this time.
    #[schema(value_type = Option<crate::schema::DateTime>)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    fn stored(self) -> ExportFormat {
        match self {
            Format::Json => ExportFormat::Json,
            Format::Csv => ExportFormat::Csv,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
        }
    }
}

/// The body checked into a spec and a format; nothing is read before all of it holds.
fn parse(b: LogExportIn) -> Result<(LogExportSpec, Format), ApiError> {
    let topic = LogTopic::parse(&b.topic)?;
    let format = match b.format.as_str() {
        "json" => Format::Json,
        "csv" => Format::Csv,
        other => return Err(ApiError::validation("format", format!("{other:?} is not json or csv"))),
    };
    let not_of = |field: &str, given: bool| -> Result<(), ApiError> {
        if !given {
            return Ok(());
        }
        let filters = match topic {
            LogTopic::Audit => "action, resource_type, resource_id, actor_id",
            LogTopic::LlmRuns => "status, agent_id, run_id, has_violation",
        };
        Err(ApiError::validation(
            field,
            format!("{field} is not a filter of topic {} (its filters: {filters}, from, to)", topic.as_str()),
        ))
    };
    let selection = match topic {
        LogTopic::Audit => {
            not_of("status", b.status.is_some())?;
            not_of("agent_id", b.agent_id.is_some())?;
            not_of("run_id", b.run_id.is_some())?;
            not_of("has_violation", b.has_violation.is_some())?;
            LogSelection::Audit(AuditQuery {
                action: b.action,
                resource_type: b.resource_type,
                resource_id: b.resource_id,
                actor_id: b.actor_id,
            })
        }
        LogTopic::LlmRuns => {
            not_of("action", b.action.is_some())?;
            not_of("resource_type", b.resource_type.is_some())?;
            not_of("resource_id", b.resource_id.is_some())?;
            not_of("actor_id", b.actor_id.is_some())?;
            let run_id = parse_field::<RunId>("run_id", b.run_id.as_deref())?;
            LogSelection::LlmRuns(TraceFilter {
                status: b.status,
                agent_id: b.agent_id,
                run_id,
                has_violation: b.has_violation,
            })
        }
    };
    let time = |field: &str, v: Option<&str>| -> Result<Option<Timestamp>, ApiError> {
        v.map(|v| {
            Timestamp::parse(v, &Rfc3339)
                .map_err(|_| ApiError::validation(field, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
    };
    let range = TimeRange { from: time("from", b.from.as_deref())?, to: time("to", b.to.as_deref())? };
    let spec = LogExportSpec { selection, range };
    spec.validate()?;
    Ok((spec, format))
}

/// Streams the tenant's rows of one log topic, oldest first, as they were when the export began
/// (rows written meanwhile are not in it). The response carries `X-Gov-Export-Id` and a
/// `Location` where the signed manifest (row count, body blake3) can be fetched once the body has
/// ended. A client that disconnects mid-stream leaves no export record.
#[utoipa::path(operation_id = "export_logs", tag = "logs", request_body = crate::schema::LogExportRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The rows, streamed: a JSON array of the list endpoint's items, or RFC 4180 CSV",
            content((Vec<Object> = "application/json"), (String = "text/csv")),
            headers(("X-Gov-Export-Id" = String, description = "The export's id"),
                ("Location" = String, description = "`/api/v1/exports/{export_id}`: the signed manifest, once the body has ended"))),
        (status = 422, body = ErrorBody, description = "An unknown topic or format, a filter of another topic, a bad time or range"),
    ))]
#[post("/logs/export")]
pub async fn export(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    body: web::Json<LogExportIn>,
) -> ApiResult<HttpResponse> {
    let (spec, format) = parse(body.into_inner())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let start = {
        let (gov, spec) = (gov.clone(), spec.clone());
        blocking(move || gov.begin_log_export(tenant, &spec)).await?
    };
    let export_id = start.export_id;
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    actix_web::rt::spawn(produce(gov.clone(), tenant, spec.clone(), start.cursor, Encoder::new(format), tx));
    let finish = Finish { gov, caller: auth.caller, spec, format, export_id, started_at: start.started_at };
    let extension = format.as_str();
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("X-Gov-Export-Id", export_id.to_string()))
        .insert_header((header::LOCATION, format!("/api/v1/exports/{export_id}")))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"gov-{}-{export_id}.{extension}\"", finish.spec.topic().as_str()),
        ))
        .streaming(ExportBody { rx, finish: Some(finish), recording: None, ended: false }))
}

/// What the body's bytes were: counted and hashed as they were produced.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub rows: u64,
    pub bytes: u64,
    pub blake3: String,
}

enum Msg {
    Chunk(Bytes),
    Done(Sent),
    Failed(ApiError),
}

/// Reads pages until the cursor is done and sends each as one chunk; stops as soon as the body
/// is gone (the client left).
async fn produce(
    gov: Gov,
    tenant: TenantId,
    spec: LogExportSpec,
    mut cursor: LogCursor,
    mut encoder: Encoder,
    tx: mpsc::Sender<Msg>,
) {
    let head = encoder.head(spec.topic());
    if tx.send(Msg::Chunk(head)).await.is_err() {
        return;
    }
    loop {
        let (gov, spec) = (gov.clone(), spec.clone());
        let page = blocking(move || {
            let (rows, next) = gov.log_export_page(tenant, &spec, cursor, PAGE_ROWS)?;
            let done = rows.is_empty() || next.is_done();
            let chunk = encoder.page(rows)?;
            Ok((chunk, next, encoder, done))
        })
        .await;
        let (chunk, next, back, done) = match page {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e)).await;
                return;
            }
        };
        (cursor, encoder) = (next, back);
        if !chunk.is_empty() && tx.send(Msg::Chunk(chunk)).await.is_err() {
            return;
        }
        if done {
            break;
        }
    }
    let tail = encoder.tail();
    if !tail.is_empty() && tx.send(Msg::Chunk(tail)).await.is_err() {
        return;
    }
    let _ = tx.send(Msg::Done(encoder.sent())).await;
}

/// Encodes pages of one topic in one format, hashing and counting what it hands out.
struct Encoder {
    format: Format,
    hasher: blake3::Hasher,
    rows: u64,
    bytes: u64,
}

const AUDIT_COLUMNS: [&str; 8] =
    ["log_id", "tenant_id", "actor_id", "action", "resource_type", "resource_id", "timestamp", "details"];
const LLM_RUN_COLUMNS: [&str; 15] = [
    "trace_id",
    "run_id",
    "tenant_id",
    "status",
    "step_count",
    "is_synthetic",
    "agent_id",
    "started_at",
    "completed_at",
    "violation_step_index",
    "violation_timestamp",
    "violation_policy_id",
    "violation_reason",
    "incident_id",
    "head_hash",
];

impl Encoder {
    fn new(format: Format) -> Self {
        Encoder { format, hasher: blake3::Hasher::new(), rows: 0, bytes: 0 }
    }

    fn emit(&mut self, out: Vec<u8>) -> Bytes {
        self.hasher.update(&out);
        self.bytes += out.len() as u64;
        Bytes::from(out)
    }

    /// The CSV header row, or the JSON array's opening bracket.
    fn head(&mut self, topic: LogTopic) -> Bytes {
        let out = match self.format {
            Format::Json => b"[".to_vec(),
            Format::Csv => {
                let columns: &[&str] = match topic {
                    LogTopic::Audit => &AUDIT_COLUMNS,
                    LogTopic::LlmRuns => &LLM_RUN_COLUMNS,
                };
                let mut w = csv_writer();
                // Writing to memory cannot fail.
                let _ = w.write_record(columns);
                w.into_inner().unwrap_or_default()
            }
        };
        self.emit(out)
    }

    fn page(&mut self, rows: LogRows) -> Result<Bytes, gov_facades::Error> {
        let failed =
            |e: &dyn std::fmt::Display| gov_facades::Error::Internal(format!("encoding a log export: {e}"));
        let count = rows.len() as u64;
        let out = match self.format {
            Format::Json => {
                let mut out = Vec::with_capacity(rows.len() * 512);
                let item = |out: &mut Vec<u8>, i: u64, value: &dyn erased::Item| {
                    if self.rows + i > 0 {
                        out.push(b',');
                    }
                    value.write_json(out)
                };
                match rows {
                    LogRows::Audit(rows) => {
                        for (i, e) in rows.into_iter().enumerate() {
                            item(&mut out, i as u64, &AuditLogOut::from(e)).map_err(|e| failed(&e))?;
                        }
                    }
                    LogRows::LlmRuns(rows) => {
                        for (i, t) in rows.into_iter().enumerate() {
                            item(&mut out, i as u64, &TraceOut::from(t)).map_err(|e| failed(&e))?;
                        }
                    }
                }
                out
            }
            Format::Csv => {
                let mut w = csv_writer();
                match rows {
                    LogRows::Audit(rows) => {
                        for e in rows {
                            let details = e.details.to_string();
                            w.write_record([
                                e.id.to_string().as_str(),
                                &e.tenant_id.to_string(),
                                &e.actor_id,
                                &e.action,
                                &e.resource_type,
                                &e.resource_id,
                                &rfc3339(e.timestamp),
                                &details,
                            ])
                            .map_err(|e| failed(&e))?;
                        }
                    }
                    LogRows::LlmRuns(rows) => {
                        for t in rows {
                            let t = TraceOut::from(t);
                            w.write_record([
                                t.trace_id.as_str(),
                                &t.run_id,
                                &t.tenant_id,
                                &t.status,
                                &t.step_count.to_string(),
                                if t.is_synthetic { "true" } else { "false" },
                                &t.agent_id,
                                &rfc3339(t.started_at),
                                &t.completed_at.map(rfc3339).unwrap_or_default(),
                                &t.violation_step_index.map(|i| i.to_string()).unwrap_or_default(),
                                &t.violation_timestamp.map(rfc3339).unwrap_or_default(),
                                t.violation_policy_id.as_deref().unwrap_or_default(),
                                t.violation_reason.as_deref().unwrap_or_default(),
                                t.incident_id.as_deref().unwrap_or_default(),
                                &t.head_hash,
                            ])
                            .map_err(|e| failed(&e))?;
                        }
                    }
                }
                w.into_inner().map_err(|e| failed(&e))?
            }
        };
        self.rows += count;
        Ok(self.emit(out))
    }

    /// The JSON array's closing bracket (CSV has no tail).
    fn tail(&mut self) -> Bytes {
        match self.format {
            Format::Json => self.emit(b"]".to_vec()),
            Format::Csv => Bytes::new(),
        }
    }

    fn sent(&self) -> Sent {
        Sent { rows: self.rows, bytes: self.bytes, blake3: self.hasher.finalize().to_hex().to_string() }
    }
}

/// RFC 4180: CRLF after every record, fields quoted when they hold a comma, quote, CR or LF, and
/// quotes doubled.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new())
}

/// A time as the JSON items spell it (`time::serde::rfc3339`).
fn rfc3339(t: Timestamp) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

mod erased {
    /// A list item that can write itself as JSON (so one loop serves both topics).
    pub(super) trait Item {
        fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
    }

    impl<T: serde::Serialize> Item for T {
        fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
            serde_json::to_writer(out, self)
        }
    }
}

/// Writing the export's record (a blocking call awaited by the body).
type Recording = Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;

/// How the export is recorded once every byte was handed out.
struct Finish {
    gov: Gov,
    caller: Caller,
    spec: LogExportSpec,
    format: Format,
    export_id: ExportId,
    started_at: Timestamp,
}

impl Finish {
    fn record(self, sent: Sent) -> Recording {
        Box::pin(async move {
            let Finish { gov, caller, spec, format, export_id, started_at } = self;
            let done = gov_facades::FinishedLogExport {
                export_id,
                spec,
                format: format.stored(),
                started_at,
                row_count: sent.rows,
                body_bytes: sent.bytes,
                body_blake3: sent.blake3,
            };
            blocking(move || gov.finish_log_export(&caller, done)).await.map(drop)
        })
    }
}

/// The response body: the producer's chunks, then the export's record. It is polled for more
/// only after the chunk before was written out, so the record is written only once every byte
/// left, and never when the client went away (actix drops the body).
struct ExportBody {
    rx: mpsc::Receiver<Msg>,
    finish: Option<Finish>,
    recording: Option<Recording>,
    ended: bool,
}

fn aborted(why: &str) -> actix_web::Error {
    actix_web::error::ErrorInternalServerError(format!("log export aborted: {why}"))
}

impl futures_core::Stream for ExportBody {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(recording) = &mut this.recording {
                let Poll::Ready(result) = recording.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                this.recording = None;
                this.ended = true;
                return match result {
                    Ok(()) => Poll::Ready(None),
                    Err(e) => {
                        tracing::error!(error = %e, "a log export was sent but could not be recorded");
                        Poll::Ready(Some(Err(aborted("not recorded"))))
                    }
                };
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let Poll::Ready(msg) = this.rx.poll_recv(cx) else {
                return Poll::Pending;
            };
            match msg {
                Some(Msg::Chunk(bytes)) => return Poll::Ready(Some(Ok(bytes))),
                Some(Msg::Done(sent)) => match this.finish.take() {
                    Some(finish) => this.recording = Some(finish.record(sent)),
                    None => this.ended = true,
                },
                Some(Msg::Failed(e)) => {
                    this.ended = true;
                    tracing::error!(error = %e, "a log export failed mid-stream");
                    return Poll::Ready(Some(Err(aborted("reading the log failed"))));
                }
                None => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(aborted("the producer stopped"))));
                }
            }
        }
    }
}
