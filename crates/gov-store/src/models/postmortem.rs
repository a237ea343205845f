//! Rows of `postmortems`.

use diesel::prelude::*;
use gov_model::Postmortem;
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, parse, to_db};
use crate::schema::postmortems;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = postmortems, primary_key(postmortem_id), check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PostmortemRow {
    pub postmortem_id: String,
    pub tenant_id: String,
    pub incident_id: String,
    pub root_cause: String,
    /// JSON array of `{timestamp, event}`.
    pub timeline: String,
    pub lessons_learned: String,
    pub author: String,
    pub created_at: PrimitiveDateTime,
}

impl PostmortemRow {
    pub fn from_model(p: &Postmortem) -> Result<Self, StoreError> {
        Ok(Self {
            postmortem_id: p.postmortem_id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            incident_id: p.incident_id.to_string(),
            root_cause: p.root_cause.clone(),
            timeline: serde_json::to_string(&p.timeline)
                .map_err(|e| StoreError::Corrupt(format!("postmortems.timeline: {e}")))?,
            lessons_learned: p.lessons_learned.clone(),
            author: p.author.clone(),
            created_at: to_db(p.created_at),
        })
    }

    pub fn into_model(self) -> Result<Postmortem, StoreError> {
        Ok(Postmortem {
            postmortem_id: parse("postmortems.postmortem_id", &self.postmortem_id)?,
            tenant_id: parse("postmortems.tenant_id", &self.tenant_id)?,
            incident_id: parse("postmortems.incident_id", &self.incident_id)?,
            root_cause: self.root_cause,
            timeline: serde_json::from_str(&self.timeline)
                .map_err(|e| StoreError::Corrupt(format!("postmortems.timeline: {e}")))?,
            lessons_learned: self.lessons_learned,
            author: self.author,
            created_at: from_db(self.created_at),
        })
    }
}
