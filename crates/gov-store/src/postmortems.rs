//! Incident postmortems: one per incident, written once.

use diesel::prelude::*;
use gov_model::{IncidentId, Postmortem, TenantId};

use crate::db::dispatch;
use crate::models::postmortem::PostmortemRow;
use crate::schema::postmortems;
use crate::{Conn, StoreError};

/// Writes the postmortem. A second one for the same incident is a [`StoreError::Conflict`] (the
/// unique `(tenant_id, incident_id)` index decides, so two racing writers cannot both succeed).
pub fn insert(conn: &mut Conn<'_>, postmortem: &Postmortem) -> Result<(), StoreError> {
    let row = PostmortemRow::from_model(postmortem)?;
    dispatch!(conn, |c| diesel::insert_into(postmortems::table).values(&row).execute(c))?;
    Ok(())
}

/// The incident's postmortem, if one was written.
pub fn get(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    incident: IncidentId,
) -> Result<Option<Postmortem>, StoreError> {
    let (t, i) = (tenant.to_string(), incident.to_string());
    let row: Option<PostmortemRow> = dispatch!(conn, |c| postmortems::table
        .filter(postmortems::tenant_id.eq(&t).and(postmortems::incident_id.eq(&i)))
        .select(PostmortemRow::as_select())
        .first(c)
        .optional())?;
    row.map(PostmortemRow::into_model).transpose()
}
