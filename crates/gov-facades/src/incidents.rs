//! Incidents: listing, the lifecycle transitions (acknowledge, escalate, resolve; illegal ones are
//! conflicts), comments and the timeline.

use gov_incident::Transition;
use gov_model::{
    CommentId, Incident, IncidentComment, IncidentEvent, IncidentId, NewAuditEntry, Page, PageRequest,
    SortDirection, TenantId,
};
use gov_store::incidents::{self, IncidentFilter};
use serde_json::json;

use crate::error::OrNotFound;
use crate::{Caller, Error, Gov, Result, audit, validate};

impl Gov {
    pub fn list_incidents(
        &self,
        tenant: TenantId,
        filter: &IncidentFilter,
        page: PageRequest,
        direction: SortDirection,
    ) -> Result<Page<Incident>> {
        Ok(self.db.read(|c| incidents::list(c, tenant, filter, page, direction))?)
    }

    pub fn get_incident(&self, tenant: TenantId, id: IncidentId) -> Result<Incident> {
        self.db.read(|c| incidents::get(c, tenant, id).or_not_found("incident"))
    }

    /// Applies a lifecycle transition; one that the state machine forbids is a conflict.
    pub fn transition_incident(
        &self,
        caller: &Caller,
        id: IncidentId,
        transition: Transition,
        note: Option<String>,
    ) -> Result<Incident> {
        let note = note.as_deref().map(|n| validate::text("note", n, 4000)).transpose()?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            // Locked: concurrent transitions apply one after the other, each to the saved state
            // (and each moves the incident's terms in the rollups exactly once).
            incidents::lock(c, caller.tenant_id, id).or_not_found("incident")?;
            let current = incidents::get(c, caller.tenant_id, id).or_not_found("incident")?;
            let next = gov_incident::apply(&current, transition, now, note.as_deref())
                .map_err(Error::IncidentTransition)?;
            crate::rollups::save_incident(c, &current, &next)?;
            let event = transition.event_kind();
            let detail = match (transition, &note) {
                (Transition::Escalate, _) => format!(
                    "severity {} -> {}, level {}{}",
                    current.severity,
                    next.severity,
                    next.escalation_level,
                    note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
                ),
                (_, Some(n)) => n.clone(),
                (_, None) => String::new(),
            };
            crate::rollups::record_incident_event(c, caller.tenant_id, id, event, &caller.actor.id, &detail, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: transition.audit_action(),
                    resource_type: "incident",
                    resource_id: id.to_string(),
                    details: json!({ "from": current.status.as_str(), "to": next.status.as_str(), "note": note }),
                },
                now,
            )?;
            Ok(next)
        })
    }

    pub fn incident_timeline(
        &self,
        tenant: TenantId,
        id: IncidentId,
    ) -> Result<(Incident, Vec<IncidentEvent>)> {
        self.db.read(|c| {
            let incident = incidents::get(c, tenant, id).or_not_found("incident")?;
            Ok((incident, incidents::events(c, tenant, id)?))
        })
    }

    pub fn incident_comments(
        &self,
        tenant: TenantId,
        id: IncidentId,
        page: PageRequest,
    ) -> Result<Page<IncidentComment>> {
        self.db.read(|c| {
            incidents::get(c, tenant, id).or_not_found("incident")?;
            Ok(incidents::comments(c, tenant, id, page)?)
        })
    }

    /// Adds a comment. `author` defaults to the caller (`api_key:<id>`); the console may name a user.
    pub fn comment_incident(
        &self,
        caller: &Caller,
        id: IncidentId,
        content: &str,
        author: Option<&str>,
    ) -> Result<IncidentComment> {
        let content = validate::text("content", content, 10_000)?;
        let author = validate::named_or_caller("author", author, caller)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            incidents::get(c, caller.tenant_id, id).or_not_found("incident")?;
            let comment = IncidentComment {
                comment_id: CommentId::new(),
                incident_id: id,
                author,
                content,
                created_at: now,
            };
            incidents::insert_comment(c, caller.tenant_id, &comment)?;
            crate::rollups::record_incident_event(
                c,
                caller.tenant_id,
                id,
                gov_model::IncidentEventKind::Commented,
                &comment.author,
                &comment.content,
                now,
            )?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "incident.commented",
                    resource_type: "incident",
                    resource_id: id.to_string(),
                    details: json!({ "comment_id": comment.comment_id.to_string() }),
                },
                now,
            )?;
            Ok(comment)
        })
    }
}
