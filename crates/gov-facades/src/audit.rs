//! The audit trail: writing a row (with its content hash), reading the trail, sealing it into
//! checkpoints and checking it against them (see `audit_chain.rs`).

use std::cell::RefCell;

use gov_model::{Actor, AuditEntry, AuditLogId, NewAuditEntry, Page, PageRequest, TenantId, Timestamp};
use gov_store::audit::{self, AuditFilter, NewAuditRow};
use gov_store::{Conn, StoreError, tenants};

use crate::audit_chain::{self, AuditIntegrity, RowContent, RowsDigest};
use crate::{Error, Gov, Result};

/// Filters of an audit listing; `None` matches everything.
pub type AuditQuery = AuditFilter;

/// Rows and checkpoints are read in pages of this many, so memory stays bounded.
const PAGE: i64 = 1000;

/// What one round of sealing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Checkpoints written (one per tenant with new rows).
    pub checkpoints: usize,
    /// Rows they sealed.
    pub rows: i64,
    /// Another replica sealed the same rows first; this round wrote nothing.
    pub raced: bool,
}

/// Appends one audit row of `tenant` inside the caller's transaction. `actor.request_id`, when
/// known, is kept in `details.request_id`. The row's hash covers its content exactly as stored.
pub(crate) fn record(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    actor: &Actor,
    entry: NewAuditEntry,
    now: Timestamp,
) -> Result<AuditLogId, StoreError> {
    let id = AuditLogId::new();
    let mut details = entry.details;
    if let (Some(request_id), Some(map)) = (&actor.request_id, details.as_object_mut()) {
        map.insert("request_id".to_owned(), serde_json::Value::String(request_id.clone()));
    }
    let details = details.to_string();
    // The database keeps microseconds: hash the instant it will read back.
    let timestamp = now.replace_nanosecond(now.microsecond() * 1000).unwrap_or(now);
    let log_id = id.to_string();
    let row_hash = audit_chain::row_hash(RowContent {
        tenant_id: tenant,
        log_id: &log_id,
        actor_id: &actor.id,
        action: entry.action,
        resource_type: entry.resource_type,
        resource_id: &entry.resource_id,
        timestamp,
        details: &details,
    });
    let row = NewAuditRow {
        id,
        actor_id: actor.id.clone(),
        action: entry.action.to_owned(),
        resource_type: entry.resource_type.to_owned(),
        resource_id: entry.resource_id,
        timestamp,
        details,
        row_hash,
    };
    audit::append(conn, tenant, row)?;
    Ok(id)
}

impl Gov {
    pub fn list_audit_logs(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        Ok(self.db.read(|c| audit::list(c, tenant, query, page))?)
    }

    /// Seals every tenant's audit rows written since its last checkpoint into a new checkpoint.
    /// Safe to run from any number of replicas at once: the boundary is read in a transaction of
    /// its own (on PostgreSQL it waits for in-flight audit writes, see
    /// [`gov_store::audit::seal_boundary`]), and two replicas sealing the same range collide on
    /// the checkpoint's key, so one of them writes nothing.
    pub fn seal_audit_log(&self) -> Result<SealReport> {
        let Some(boundary) = self.db.write(audit::seal_boundary)? else {
            return Ok(SealReport::default());
        };
        let now = self.clock.now();
        let sealed = self.db.write(move |c| {
            let mut report = SealReport::default();
            if audit::sealed_through(c)? >= boundary {
                return Ok(report);
            }
            for tenant in tenants::list_all(c)? {
                let head = audit::head_checkpoint(c, tenant.id)?;
                let from = head.as_ref().map_or(0, |h| h.to_seq);
                if from >= boundary {
                    continue;
                }
                let mut digest = RowsDigest::new();
                let mut after = from;
                loop {
                    let page = audit::records(c, tenant.id, after, boundary, PAGE)?;
                    for row in &page {
                        digest.push(row.seq, &audit_chain::sealed_hash(row));
                    }
                    match page.last() {
                        Some(last) if page.len() as i64 == PAGE => after = last.seq,
                        _ => break,
                    }
                }
                if digest.count() == 0 {
                    continue;
                }
                let checkpoint =
                    audit_chain::next_checkpoint(tenant.id, head.as_ref(), boundary, &digest, now);
                audit::insert_checkpoint(c, &checkpoint)?;
                report.checkpoints += 1;
                report.rows += digest.count();
            }
            Ok::<_, Error>(report)
        });
        match sealed {
            Err(Error::Duplicate(_)) => Ok(SealReport { raced: true, ..SealReport::default() }),
            other => other,
        }
    }

    /// Re-walks the tenant's audit trail against its checkpoints: every row's hash, every
    /// checkpoint's digest, count, hash and link. Rows and checkpoints are streamed in pages.
    pub fn audit_integrity(&self, tenant: TenantId) -> Result<AuditIntegrity> {
        self.db.read(|c| {
            // The newest checkpoint first: the ranges it and those before it seal are final, so
            // rows written while this runs can only land after them.
            let last_n = audit::head_checkpoint(c, tenant)?.map_or(0, |h| h.n);
            let last_seq = audit::last_seq(c, tenant)?;
            let conn = RefCell::new(c);
            let checkpoints = paged(
                |after| audit::checkpoints(&mut conn.borrow_mut(), tenant, after, last_n, PAGE),
                |cp| cp.n,
            );
            let rows = paged(
                |after| audit::records(&mut conn.borrow_mut(), tenant, after, last_seq, PAGE),
                |r| r.seq,
            );
            Ok(audit_chain::verify(tenant, checkpoints, rows)?)
        })
    }
}

/// Pages of `fetch(after)` (at most [`PAGE`] items each, keyed by `key`) as one iterator.
fn paged<T, F, K>(mut fetch: F, key: K) -> impl Iterator<Item = Result<T, StoreError>>
where
    F: FnMut(i64) -> Result<Vec<T>, StoreError>,
    K: Fn(&T) -> i64,
{
    let mut after = 0;
    let mut done = false;
    let mut page = Vec::new().into_iter();
    std::iter::from_fn(move || {
        loop {
            if let Some(item) = page.next() {
                return Some(Ok(item));
            }
            if done {
                return None;
            }
            match fetch(after) {
                Ok(items) => {
                    done = (items.len() as i64) < PAGE;
                    if let Some(last) = items.last() {
                        after = key(last);
                    }
                    page = items.into_iter();
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
    })
}
