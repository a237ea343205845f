//! Rows of `incidents`, `incident_comments` and `incident_events`.

use diesel::prelude::*;
use gov_model::{Incident, IncidentComment, IncidentEvent, TenantId};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, opt_from_db, opt_to_db, parse, parse_opt, to_db};
use crate::schema::{incident_comments, incident_events, incidents};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = incidents, primary_key(incident_id), treat_none_as_null = true, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct IncidentRow {
    pub incident_id: String,
    pub tenant_id: String,
    pub source_run_id: Option<String>,
    pub policy_id: Option<String>,
    pub trace_id: Option<String>,
    pub severity: String,
    pub status: String,
    pub incident_type: String,
    pub title: String,
    pub description: String,
    pub step_index: Option<i64>,
    pub escalation_level: i32,
    pub created_at: PrimitiveDateTime,
    pub acknowledged_at: Option<PrimitiveDateTime>,
    pub escalated_at: Option<PrimitiveDateTime>,
    pub resolved_at: Option<PrimitiveDateTime>,
    pub resolution: Option<String>,
}

impl IncidentRow {
    pub fn from_model(i: &Incident) -> Self {
        Self {
            incident_id: i.incident_id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            source_run_id: i.source_run_id.map(|r| r.to_string()),
            policy_id: i.policy_id.map(|p| p.to_string()),
            trace_id: i.trace_id.map(|t| t.to_string()),
            severity: i.severity.as_str().to_owned(),
            status: i.status.as_str().to_owned(),
            incident_type: i.incident_type.clone(),
            title: i.title.clone(),
            description: i.description.clone(),
            step_index: i.step_index,
            escalation_level: i.escalation_level,
            created_at: to_db(i.created_at),
            acknowledged_at: opt_to_db(i.acknowledged_at),
            escalated_at: opt_to_db(i.escalated_at),
            resolved_at: opt_to_db(i.resolved_at),
            resolution: i.resolution.clone(),
        }
    }

    pub fn into_model(self) -> Result<Incident, StoreError> {
        Ok(Incident {
            incident_id: parse("incidents.incident_id", &self.incident_id)?,
            tenant_id: parse("incidents.tenant_id", &self.tenant_id)?,
            source_run_id: parse_opt("incidents.source_run_id", self.source_run_id)?,
            policy_id: parse_opt("incidents.policy_id", self.policy_id)?,
            trace_id: parse_opt("incidents.trace_id", self.trace_id)?,
            severity: parse("incidents.severity", &self.severity)?,
            status: parse("incidents.status", &self.status)?,
            incident_type: self.incident_type,
            title: self.title,
            description: self.description,
            step_index: self.step_index,
            escalation_level: self.escalation_level,
            created_at: from_db(self.created_at),
            acknowledged_at: opt_from_db(self.acknowledged_at),
            escalated_at: opt_from_db(self.escalated_at),
            resolved_at: opt_from_db(self.resolved_at),
            resolution: self.resolution,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = incident_comments, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct CommentRow {
    pub comment_id: String,
    pub incident_id: String,
    pub tenant_id: String,
    pub author: String,
    pub content: String,
    pub created_at: PrimitiveDateTime,
}

impl CommentRow {
    pub fn into_model(self) -> Result<IncidentComment, StoreError> {
        Ok(IncidentComment {
            comment_id: parse("incident_comments.comment_id", &self.comment_id)?,
            incident_id: parse("incident_comments.incident_id", &self.incident_id)?,
            author: self.author,
            content: self.content,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = incident_events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub event_id: String,
    pub incident_id: String,
    pub tenant_id: String,
    pub event: String,
    pub actor: String,
    pub detail: String,
    pub timestamp: PrimitiveDateTime,
}

impl EventRow {
    pub fn from_model(event_id: uuid::Uuid, tenant: TenantId, e: &IncidentEvent) -> Self {
        Self {
            event_id: event_id.to_string(),
            incident_id: e.incident_id.to_string(),
            tenant_id: tenant.to_string(),
            event: e.event.as_str().to_owned(),
            actor: e.actor.clone(),
            detail: e.detail.clone(),
            timestamp: to_db(e.timestamp),
        }
    }

    pub fn into_model(self) -> Result<IncidentEvent, StoreError> {
        Ok(IncidentEvent {
            incident_id: parse("incident_events.incident_id", &self.incident_id)?,
            event: parse("incident_events.event", &self.event)?,
            actor: self.actor,
            detail: self.detail,
            timestamp: from_db(self.timestamp),
        })
    }
}
