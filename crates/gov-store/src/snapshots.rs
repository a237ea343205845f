//! Policy snapshots: immutable, shared by every run that froze identical content.

use diesel::prelude::*;
use gov_model::{PolicySnapshot, SnapshotId, TenantId};

use crate::db::dispatch;
use crate::models::run::SnapshotRow;
use crate::schema::policy_snapshots;
use crate::{Conn, StoreError};

/// Stores `snapshot` unless the tenant already has one with the same content hash; returns the
/// stored one either way.
pub fn insert_or_get(conn: &mut Conn<'_>, snapshot: &PolicySnapshot) -> Result<PolicySnapshot, StoreError> {
    let row = SnapshotRow::from_model(snapshot);
    let stored: SnapshotRow = dispatch!(conn, |c| {
        diesel::insert_into(policy_snapshots::table)
            .values(&row)
            .on_conflict((policy_snapshots::tenant_id, policy_snapshots::content_hash))
            .do_nothing()
            .execute(c)?;
        policy_snapshots::table
            .filter(
                policy_snapshots::tenant_id
                    .eq(&row.tenant_id)
                    .and(policy_snapshots::content_hash.eq(&row.content_hash)),
            )
            .select(SnapshotRow::as_select())
            .first(c)
    })?;
    stored.into_model()
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: SnapshotId) -> Result<PolicySnapshot, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: SnapshotRow = dispatch!(conn, |c| policy_snapshots::table
        .filter(policy_snapshots::tenant_id.eq(&t).and(policy_snapshots::snapshot_id.eq(&i)))
        .select(SnapshotRow::as_select())
        .first(c))?;
    row.into_model()
}
