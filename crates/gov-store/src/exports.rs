//! Evidence exports: one immutable row per export, with the bytes served and the signed
//! document they came from.

use crate::paging::{after_cursor, capped_total, time_cursor};
use diesel::prelude::*;
use gov_model::{
    EvidenceExport, ExportFormat, ExportId, ExportKind, IncidentId, Page, PageRequest, RunId, SortDirection,
    SortKey, TenantId, Total,
};

use crate::db::dispatch;
use crate::models::export::{ExportRow, NewExportRow};
use crate::schema::evidence_exports;
use crate::{Conn, StoreError};

/// Narrows a listing of exports; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub kind: Option<ExportKind>,
    pub format: Option<ExportFormat>,
    pub incident_id: Option<IncidentId>,
    pub run_id: Option<RunId>,
}

/// Writes an export's row: its record, the bytes served (`None` for a streamed log export) and
/// the signed JSON document.
pub fn insert(
    conn: &mut Conn<'_>,
    export: &EvidenceExport,
    artifact: Option<&[u8]>,
    document: &[u8],
) -> Result<(), StoreError> {
    let row = NewExportRow::from_model(export, artifact, document);
    dispatch!(conn, |c| diesel::insert_into(evidence_exports::table).values(&row).execute(c))?;
    Ok(())
}

/// An export's record; another tenant's is [`StoreError::NotFound`].
pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: ExportId) -> Result<EvidenceExport, StoreError> {
    let (t, e) = (tenant.to_string(), id.to_string());
    let row: Option<ExportRow> = dispatch!(conn, |c| evidence_exports::table
        .filter(evidence_exports::tenant_id.eq(&t).and(evidence_exports::export_id.eq(&e)))
        .select(ExportRow::as_select())
        .first(c)
        .optional())?;
    row.ok_or(StoreError::NotFound)?.into_model()
}

/// An export's record with the bytes it served (`None` for a log export, whose body is not kept).
pub fn artifact(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ExportId,
) -> Result<(EvidenceExport, Option<Vec<u8>>), StoreError> {
    let (t, e) = (tenant.to_string(), id.to_string());
    let row: Option<(ExportRow, Option<Vec<u8>>)> = dispatch!(conn, |c| evidence_exports::table
        .filter(evidence_exports::tenant_id.eq(&t).and(evidence_exports::export_id.eq(&e)))
        .select((ExportRow::as_select(), evidence_exports::artifact))
        .first(c)
        .optional())?;
    let (row, bytes) = row.ok_or(StoreError::NotFound)?;
    Ok((row.into_model()?, bytes))
}

/// An export's record with its signed JSON document.
pub fn document(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ExportId,
) -> Result<(EvidenceExport, Vec<u8>), StoreError> {
    let (t, e) = (tenant.to_string(), id.to_string());
    let row: Option<(ExportRow, Vec<u8>)> = dispatch!(conn, |c| evidence_exports::table
        .filter(evidence_exports::tenant_id.eq(&t).and(evidence_exports::export_id.eq(&e)))
        .select((ExportRow::as_select(), evidence_exports::document))
        .first(c)
        .optional())?;
    let (row, bytes) = row.ok_or(StoreError::NotFound)?;
    Ok((row.into_model()?, bytes))
}

/// A tenant's exports, newest first.
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &ExportFilter,
    page: PageRequest,
) -> Result<Page<EvidenceExport>, StoreError> {
    let t = tenant.to_string();
    let incident = filter.incident_id.map(|i| i.to_string());
    let run = filter.run_id.map(|r| r.to_string());
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<ExportRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = evidence_exports::table.filter(evidence_exports::tenant_id.eq(&t)).into_boxed();
            if let Some(k) = filter.kind {
                q = q.filter(evidence_exports::kind.eq(k.as_str()));
            }
            if let Some(f) = filter.format {
                q = q.filter(evidence_exports::format.eq(f.as_str()));
            }
            if let Some(i) = &incident {
                q = q.filter(evidence_exports::incident_id.eq(i));
            }
            if let Some(r) = &run {
                q = q.filter(evidence_exports::run_id.eq(r));
            }
            q
        };
        let total = capped_total!(filtered, evidence_exports::tenant_id, c);
        let rows = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            evidence_exports::created_at,
            evidence_exports::export_id
        )
        .order((evidence_exports::created_at.desc(), evidence_exports::export_id.desc()))
        .limit(page.probe_limit())
        .offset(page.offset())
        .select(ExportRow::as_select())
        .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(ExportRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |r: &EvidenceExport| {
        (SortKey::Time(r.created_at), r.export_id.to_string())
    }))
}
