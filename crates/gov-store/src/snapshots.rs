//! Policy snapshots: immutable, shared by every run that froze identical content.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
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

/// A number that changes whenever a snapshot row may have been changed through SQL: on
/// PostgreSQL the row's `xmin` (the transaction that wrote this version of the row: any UPDATE,
/// with or without triggers, or a DELETE and re-INSERT, makes a new one); on SQLite the
/// database's `schema_version` (the append-only triggers refuse UPDATE and DELETE, and dropping
/// them changes it). Equal revisions of one snapshot mean it was not rewritten through SQL in
/// between; a write to the file itself (SQLite) or to the heap pages (PostgreSQL) keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revision(i64);

/// A snapshot's stored hash and revision, read without its text.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub content_hash: String,
    pub revision: Revision,
}

/// The SQL of [`Revision`], per backend: a fragment of its own, so diesel caches the statements
/// that select it (a `sql` literal makes it prepare them on every call, and a step makes one).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct RevisionOf;

impl diesel::Expression for RevisionOf {
    type SqlType = BigInt;
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for RevisionOf {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        out.push_sql("(SELECT schema_version FROM pragma_schema_version)");
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for RevisionOf {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("CAST(CAST(policy_snapshots.xmin AS TEXT) AS BIGINT)");
        Ok(())
    }
}

impl diesel::AppearsOnTable<policy_snapshots::table> for RevisionOf {}
impl diesel::SelectableExpression<policy_snapshots::table> for RevisionOf {}
impl diesel::expression::ValidGrouping<()> for RevisionOf {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The snapshot's stored hash and its revision: a few bytes, whatever the size of its text.
pub fn stamp(conn: &mut Conn<'_>, tenant: TenantId, id: SnapshotId) -> Result<Stamp, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let (content_hash, revision): (String, i64) = dispatch!(conn, |c| policy_snapshots::table
        .filter(policy_snapshots::tenant_id.eq(&t).and(policy_snapshots::snapshot_id.eq(&i)))
        .select((policy_snapshots::content_hash, RevisionOf))
        .first(c))?;
    Ok(Stamp { content_hash, revision: Revision(revision) })
}

/// The snapshot and the revision of what was read, in one statement.
pub fn get_revised(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: SnapshotId,
) -> Result<(PolicySnapshot, Revision), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let (row, revision): (SnapshotRow, i64) = dispatch!(conn, |c| policy_snapshots::table
        .filter(policy_snapshots::tenant_id.eq(&t).and(policy_snapshots::snapshot_id.eq(&i)))
        .select((SnapshotRow::as_select(), RevisionOf))
        .first(c))?;
    Ok((row.into_model()?, Revision(revision)))
}
