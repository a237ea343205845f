//! Incidents and comments on the wire.

use gov_model::{Incident, IncidentComment};
use serde::Serialize;
use utoipa::ToSchema;

use time::OffsetDateTime;

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentOut {
    pub incident_id: String,
    pub tenant_id: String,
    pub source_run_id: Option<String>,
    pub policy_id: Option<String>,
    pub trace_id: Option<String>,
    /// low, medium, high, critical
    pub severity: String,
    /// active, acknowledged, escalated, resolved
    pub status: String,
    /// e.g. token_limit_exceeded
    #[serde(rename = "type")]
    pub incident_type: String,
    pub title: String,
    pub description: String,
    pub step_index: Option<i64>,
    pub escalation_level: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub escalated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolution: Option<String>,
}

impl From<Incident> for IncidentOut {
    fn from(i: Incident) -> Self {
        IncidentOut {
            incident_id: i.incident_id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            source_run_id: i.source_run_id.map(|r| r.to_string()),
            policy_id: i.policy_id.map(|p| p.to_string()),
            trace_id: i.trace_id.map(|t| t.to_string()),
            severity: i.severity.as_str().to_owned(),
            status: i.status.as_str().to_owned(),
            incident_type: i.incident_type,
            title: i.title,
            description: i.description,
            step_index: i.step_index,
            escalation_level: i.escalation_level,
            created_at: i.created_at,
            acknowledged_at: i.acknowledged_at,
            escalated_at: i.escalated_at,
            resolved_at: i.resolved_at,
            resolution: i.resolution,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentOut {
    pub comment_id: String,
    pub incident_id: String,
    pub author: String,
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<IncidentComment> for CommentOut {
    fn from(c: IncidentComment) -> Self {
        CommentOut {
            comment_id: c.comment_id.to_string(),
            incident_id: c.incident_id.to_string(),
            author: c.author,
            content: c.content,
            created_at: c.created_at,
        }
    }
}
