//! Evidence exports (seed 000 §7.1 step 7, §8.5 O5, §12.3, §12.5): an incident exported as its
//! evidence bundle, SOC2 report or executive debrief; every export listed and served again byte
//! for byte; the O5 evidence views of an incident and a run; the deployment's public key.
//!
//! An export is a read of the incident (the `read` scope), though it writes its own record: the
//! export row and its audit row, so that who exported what stays on the trail.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use gov_facades::{EvidenceView, ExportFilter};
use gov_model::{EvidenceExport, ExportFormat, ExportId, ExportKind, IncidentId, RunId, SortDirection};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{ListResponse, Pagination, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PageQuery, optional_json, parse_field};
use crate::state::AppState;
use crate::wire::export::{
    AvailableExport, EvidenceViewOut, ExportBundleRequest, ExportBundleResponse, ExportLink, PublicKeyOut,
    SourceRef, StepRef, TraceEvidenceOut,
};

/// The export's id, in the answer to an export and to a download.
const EXPORT_ID_HEADER: &str = "X-Gov-Export-Id";
/// The signed document's bundle hash, likewise.
const BUNDLE_HASH_HEADER: &str = "X-Gov-Bundle-Hash";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceFormatQuery {
    /// json (the only form of the evidence bundle).
    #[param(value_type = Option<crate::schema::EvidenceFormat>, inline)]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFormatQuery {
    /// pdf (default) or json (the sealed bundle the PDF is rendered from).
    #[param(value_type = Option<crate::schema::ReportFormat>, inline)]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<crate::schema::ExportKind>, inline)]
    pub kind: Option<String>,
    #[param(value_type = Option<crate::schema::ExportFormat>, inline)]
    pub format: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub incident_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
}

/// The format asked for, among those `kind` is made in (`default` when none is asked).
fn format_of(kind: ExportKind, asked: Option<&str>, default: ExportFormat) -> ApiResult<ExportFormat> {
    let format = parse_field::<ExportFormat>("format", asked)?.unwrap_or(default);
    let allowed: &[ExportFormat] = match kind {
        ExportKind::Evidence => &[ExportFormat::Json],
        _ => &[ExportFormat::Pdf, ExportFormat::Json],
    };
    if !allowed.contains(&format) {
        let names: Vec<&str> = allowed.iter().map(|f| f.as_str()).collect();
        return Err(crate::error::ApiError::validation(
            "format",
            format!("{} exports are made as {}", kind.as_str(), names.join(" or ")),
        ));
    }
    Ok(format)
}

/// The response carrying an export's bytes, with its id and hash in headers.
fn artifact_response(
    mut res: actix_web::HttpResponseBuilder,
    export: &EvidenceExport,
    body: Vec<u8>,
) -> HttpResponse {
    res.content_type(export.content_type.as_str())
        .insert_header((EXPORT_ID_HEADER, export.export_id.to_string()))
        .insert_header((BUNDLE_HASH_HEADER, export.bundle_hash.as_str()))
        .body(body)
}

async fn export(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    incident: IncidentId,
    body: web::Bytes,
    kind: ExportKind,
    format: ExportFormat,
) -> ApiResult<HttpResponse> {
    let reason = optional_json::<ExportBundleRequest>(&body)?.and_then(|b| b.reason);
    let gov = state.gov.clone();
    let exported =
        blocking(move || gov.export_incident(&auth.caller, incident, kind, format, reason.as_deref()))
            .await?;
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, format!("/api/v1/exports/{}", exported.export.export_id)));
    Ok(artifact_response(res, &exported.export, exported.artifact))
}

/// The incident's evidence bundle (seed GAP-008 `EvidenceBundle`), sealed: canonical JSON with
/// an `integrity` member (blake3 bundle hash, Ed25519 signature). `gov verify` checks it offline.
#[utoipa::path(operation_id = "export_incident_evidence", tag = "exports",
    params(("incident_id" = String, Path), EvidenceFormatQuery),
    request_body(content = Option<ExportBundleRequest>, description = "Optional: an empty body is no reason."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The sealed evidence bundle, as stored.", content_type = "application/json", body = Object,
            headers(("Location" = String, description = "The export, to download again."),
                    ("X-Gov-Export-Id" = String), ("X-Gov-Bundle-Hash" = String))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/incidents/{incident_id}/export/evidence")]
pub async fn export_evidence(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    q: web::Query<EvidenceFormatQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let format = format_of(ExportKind::Evidence, q.format.as_deref(), ExportFormat::Json)?;
    export(auth, state, path.into_inner(), body, ExportKind::Evidence, format).await
}

/// The incident's SOC2 report (controls CC7.2, CC7.3, CC7.4) as a PDF, or with `?format=json`
/// the sealed SOC2 bundle it is rendered from.
#[utoipa::path(operation_id = "export_incident_soc2", tag = "exports",
    params(("incident_id" = String, Path), ReportFormatQuery),
    request_body(content = Option<ExportBundleRequest>, description = "Optional: an empty body is no reason."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The report (PDF) or the sealed SOC2 bundle (JSON), as stored.",
            content((crate::schema::PdfBytes = "application/pdf"), (Object = "application/json")),
            headers(("Location" = String, description = "The export, to download again."),
                    ("X-Gov-Export-Id" = String), ("X-Gov-Bundle-Hash" = String))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/incidents/{incident_id}/export/soc2")]
pub async fn export_soc2(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    q: web::Query<ReportFormatQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let format = format_of(ExportKind::Soc2, q.format.as_deref(), ExportFormat::Pdf)?;
    export(auth, state, path.into_inner(), body, ExportKind::Soc2, format).await
}

/// The incident's executive debrief (one or two pages in plain language) as a PDF, or with
/// `?format=json` the sealed debrief bundle.
#[utoipa::path(operation_id = "export_incident_executive_debrief", tag = "exports",
    params(("incident_id" = String, Path), ReportFormatQuery),
    request_body(content = Option<ExportBundleRequest>, description = "Optional: an empty body is no reason."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The debrief (PDF) or the sealed debrief bundle (JSON), as stored.",
            content((crate::schema::PdfBytes = "application/pdf"), (Object = "application/json")),
            headers(("Location" = String, description = "The export, to download again."),
                    ("X-Gov-Export-Id" = String), ("X-Gov-Bundle-Hash" = String))),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/incidents/{incident_id}/export/executive-debrief")]
pub async fn export_executive_debrief(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    q: web::Query<ReportFormatQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let format = format_of(ExportKind::ExecutiveDebrief, q.format.as_deref(), ExportFormat::Pdf)?;
    export(auth, state, path.into_inner(), body, ExportKind::ExecutiveDebrief, format).await
}

/// Every export made by this tenant, newest first.
#[utoipa::path(operation_id = "list_exports", tag = "exports", params(ExportListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ExportBundleResponse>), (status = 422, body = ErrorBody)))]
#[get("/exports/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<ExportListQuery>,
) -> ApiResult<web::Json<ListResponse<ExportBundleResponse>>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let filter = ExportFilter {
        kind: parse_field::<ExportKind>("kind", q.kind.as_deref())?,
        format: parse_field::<ExportFormat>("format", q.format.as_deref())?,
        incident_id: parse_field::<IncidentId>("incident_id", q.incident_id.as_deref())?,
        run_id: parse_field::<RunId>("run_id", q.run_id.as_deref())?,
    };
    let applied = filters([
        ("kind", q.kind.as_deref()),
        ("format", q.format.as_deref()),
        ("incident_id", q.incident_id.as_deref()),
        ("run_id", q.run_id.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_exports(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(
        found,
        ExportBundleResponse::from,
        applied,
        "created_at",
        SortDirection::Desc,
    )))
}

/// The export's bytes again, byte-identical to the first download, with its content type (a log
/// export, whose body is not kept: its signed manifest).
#[utoipa::path(operation_id = "download_export", tag = "exports", params(("export_id" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The stored artifact.",
            content((Object = "application/json"), (crate::schema::PdfBytes = "application/pdf")),
            headers(("X-Gov-Export-Id" = String), ("X-Gov-Bundle-Hash" = String))),
        (status = 404, body = ErrorBody)))]
#[get("/exports/{export_id}")]
pub async fn download(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<ExportId>,
) -> ApiResult<HttpResponse> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let (export, artifact) = blocking(move || {
        let (export, artifact) = gov.export_artifact(tenant, id)?;
        match artifact {
            Some(bytes) => Ok((export, bytes)),
            None => gov.export_document(tenant, id),
        }
    })
    .await?;
    let mut res = HttpResponse::Ok();
    if artifact_is_document(&export) {
        res.content_type(ExportFormat::Json.content_type());
        return Ok(res
            .insert_header((EXPORT_ID_HEADER, export.export_id.to_string()))
            .insert_header((BUNDLE_HASH_HEADER, export.bundle_hash.as_str()))
            .body(artifact));
    }
    Ok(artifact_response(res, &export, artifact))
}

/// A log export keeps no body: what is served again is its manifest (JSON).
fn artifact_is_document(export: &EvidenceExport) -> bool {
    export.kind == ExportKind::Logs
}

/// The signed JSON document of an export: the bundle itself, for a PDF the bundle it was
/// rendered from, for a log export its manifest.
#[utoipa::path(operation_id = "export_document", tag = "exports", params(("export_id" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed document (canonical JSON).", content_type = "application/json", body = Object,
            headers(("X-Gov-Export-Id" = String), ("X-Gov-Bundle-Hash" = String))),
        (status = 404, body = ErrorBody)))]
#[get("/exports/{export_id}/document")]
pub async fn document(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<ExportId>,
) -> ApiResult<HttpResponse> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let (export, document) = blocking(move || gov.export_document(tenant, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type(ExportFormat::Json.content_type())
        .insert_header((EXPORT_ID_HEADER, export.export_id.to_string()))
        .insert_header((BUNDLE_HASH_HEADER, export.bundle_hash.as_str()))
        .body(document))
}

/// The exports one can make of an incident.
fn available(incident: IncidentId) -> Vec<AvailableExport> {
    let base = format!("/api/v1/incidents/{incident}/export");
    let route = |path: &str, kind: ExportKind, format: ExportFormat, query: &str| AvailableExport {
        method: "POST".to_owned(),
        url: format!("{base}/{path}{query}"),
        format: format.as_str().to_owned(),
        kind: kind.as_str().to_owned(),
    };
    vec![
        route("evidence", ExportKind::Evidence, ExportFormat::Json, ""),
        route("soc2", ExportKind::Soc2, ExportFormat::Pdf, ""),
        route("soc2", ExportKind::Soc2, ExportFormat::Json, "?format=json"),
        route("executive-debrief", ExportKind::ExecutiveDebrief, ExportFormat::Pdf, ""),
        route("executive-debrief", ExportKind::ExecutiveDebrief, ExportFormat::Json, "?format=json"),
    ]
}

fn view_out(source: SourceRef, view: EvidenceView) -> EvidenceViewOut {
    let pagination = Pagination {
        total: view.steps.total,
        page: view.steps.request.page(),
        page_size: view.steps.request.page_size(),
        total_exact: view.steps.total_exact,
        next_cursor: view.steps.next.as_ref().map(crate::cursor::encode),
    };
    let steps: Vec<StepRef> = view
        .steps
        .items
        .into_iter()
        .map(|s| StepRef {
            step_number: s.step_index,
            timestamp: s.timestamp,
            step_type: s.step_type,
            decision: s.decision.as_str().to_owned(),
            chain_hash: s.chain_hash,
        })
        .collect();
    EvidenceViewOut {
        source,
        incident_id: view.incident_id.map(|i| i.to_string()),
        run_id: view.run_id.map(|r| r.to_string()),
        trace: view.trace.map(|t| TraceEvidenceOut {
            trace_id: t.trace_id.to_string(),
            status: t.status,
            step_count: t.step_count,
            head_hash: t.head_hash,
            steps,
            pagination,
        }),
        exports: view.exports.iter().map(ExportLink::from).collect(),
        available: view.incident_id.map(available).unwrap_or_default(),
    }
}

/// O5 for an incident: its trace's steps (paged: `?page`, `?page_size`, at most 200 a page), the
/// exports made of it, and the exports one can make.
#[utoipa::path(operation_id = "incident_evidence", tag = "exports", params(("incident_id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = EvidenceViewOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/incidents/{incident_id}/evidence")]
pub async fn incident_evidence(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<IncidentId>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<EvidenceViewOut>> {
    let page = q.request()?;
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let view = blocking(move || gov.incident_evidence(tenant, id, page)).await?;
    Ok(web::Json(view_out(SourceRef { id: id.to_string(), kind: "incident".into() }, view)))
}

/// O5 for a run: its trace's steps (paged), the exports of its incident, and the exports one can
/// make (none for a run without an incident).
#[utoipa::path(operation_id = "run_evidence", tag = "exports", params(("run_id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = EvidenceViewOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/runs/{run_id}/evidence")]
pub async fn run_evidence(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<EvidenceViewOut>> {
    let page = q.request()?;
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let view = blocking(move || gov.run_evidence(tenant, id, page)).await?;
    Ok(web::Json(view_out(SourceRef { id: id.to_string(), kind: "run".into() }, view)))
}

/// The public key that verifies this deployment's exports, and the keys that signed earlier ones.
#[utoipa::path(operation_id = "evidence_public_key", tag = "exports", security(("bearer" = [])),
    responses((status = 200, body = PublicKeyOut)))]
#[get("/evidence/public-key")]
pub async fn public_key(
    _auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<PublicKeyOut>> {
    let gov = state.gov.clone();
    let (current, older) = blocking(move || gov.public_keys()).await?;
    Ok(web::Json(PublicKeyOut::new(current, older)))
}
