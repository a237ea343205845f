//! Incident insight: related incidents, stats, patterns (through the pure `gov_incident::patterns`
//! engine) and postmortems.

use std::collections::BTreeSet;

use gov_incident::patterns::{self, IncidentFact, Pattern, PatternConfig};
use gov_model::{
    Incident, IncidentEvent, IncidentId, NewAuditEntry, Postmortem, PostmortemEntry, PostmortemId, TenantId,
    Timestamp,
};
use gov_store::audit::TimeRange;
use gov_store::incidents::{self, IncidentFacts, IncidentStats, RelatedBy};
use gov_store::{Conn, StoreError, postmortems, runs};
use serde_json::json;

use crate::error::OrNotFound;
use crate::rollups::Parts;
use crate::{Caller, Error, Gov, Result, audit, validate};

/// Related incidents listed per relation (newest first).
pub const RELATED_PER_RELATION: i64 = 20;
/// The newest incidents of a range the pattern engine reads.
pub const PATTERN_FACTS_LIMIT: i64 = 5_000;
/// Seed 004's weekly target for MTTR (mean time to remediate): under two hours.
pub const MTTR_TARGET_SECONDS: f64 = 7_200.0;
/// Postmortem limits: each text, each timeline event, the number of timeline entries.
pub const POSTMORTEM_TEXT_CHARS: usize = 10_000;
pub const POSTMORTEM_EVENT_CHARS: usize = 2_000;
pub const POSTMORTEM_MAX_ENTRIES: usize = 100;
/// The largest `min_count` of a pattern query (no range holds more facts than that).
pub const MAX_MIN_COUNT: usize = PATTERN_FACTS_LIMIT as usize;

/// Why an incident is related to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    SameRun,
    SamePolicy,
    SameAgent,
    SamePattern,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::SameRun => "same_run",
            Relation::SamePolicy => "same_policy",
            Relation::SameAgent => "same_agent",
            Relation::SamePattern => "same_pattern",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelatedIncidents {
    pub source: Incident,
    /// Per relation, in the order of [`Relation`]; an incident may appear under several.
    pub related: Vec<(Relation, Incident)>,
    pub events: Vec<IncidentEvent>,
}

/// The patterns of a range and what they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternReport {
    pub patterns: Vec<Pattern>,
    pub config: PatternConfig,
    /// Facts the engine read (at most [`PATTERN_FACTS_LIMIT`]).
    pub incidents_considered: usize,
    /// The range held more incidents than were read: only the newest were considered.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostmortemDraft {
    pub root_cause: String,
    pub timeline: Vec<PostmortemEntry>,
    pub lessons_learned: String,
}

fn check_range(range: TimeRange) -> Result<()> {
    match (range.from, range.to) {
        (Some(from), Some(to)) if from > to => Err(Error::invalid("from", "from must not be after to")),
        _ => Ok(()),
    }
}

fn read_facts(
    c: &mut Conn<'_>,
    tenant: TenantId,
    range: TimeRange,
) -> std::result::Result<Vec<IncidentFact>, StoreError> {
    Ok(incidents::facts(c, tenant, range, PATTERN_FACTS_LIMIT + 1)?.into_iter().map(fact).collect())
}

fn fact(f: IncidentFacts) -> IncidentFact {
    IncidentFact {
        incident_id: f.incident_id,
        created_at: f.created_at,
        policy_id: f.policy_id,
        agent_id: f.agent_id,
        step_type: f.step_type,
        incident_type: f.incident_type,
        severity: f.severity,
    }
}

impl Gov {
    /// Incidents of the same run, policy, agent and pattern as `id` (each at most
    /// [`RELATED_PER_RELATION`], newest first), and the incident's events.
    pub fn related_incidents(&self, tenant: TenantId, id: IncidentId) -> Result<RelatedIncidents> {
        self.db.read(|c| {
            let source = incidents::get(c, tenant, id).or_not_found("incident")?;
            let mut related = Vec::new();
            let mut add =
                |relation, found: Vec<Incident>| related.extend(found.into_iter().map(|i| (relation, i)));
            if let Some(run) = source.source_run_id {
                add(
                    Relation::SameRun,
                    incidents::related(c, tenant, &RelatedBy::Run(run), id, RELATED_PER_RELATION)?,
                );
            }
            if let Some(policy) = source.policy_id {
                let by = RelatedBy::Policy(policy);
                add(Relation::SamePolicy, incidents::related(c, tenant, &by, id, RELATED_PER_RELATION)?);
            }
            if let Some(run) = source.source_run_id {
                let agent = runs::get(c, tenant, run)?.agent_id;
                let by = RelatedBy::Agent(agent);
                add(Relation::SameAgent, incidents::related(c, tenant, &by, id, RELATED_PER_RELATION)?);
            }
            // The patterns of the newest incidents that hold this one.
            let mut facts = read_facts(c, tenant, TimeRange::default())?;
            facts.truncate(PATTERN_FACTS_LIMIT as usize);
            let others: BTreeSet<IncidentId> = patterns::find(&facts, PatternConfig::default())
                .into_iter()
                .filter(|p| p.incident_ids.contains(&id))
                .flat_map(|p| p.incident_ids)
                .filter(|other| *other != id)
                .collect();
            let others: Vec<IncidentId> = others.into_iter().collect();
            let mut same_pattern = incidents::get_many(c, tenant, &others)?;
            same_pattern.truncate(RELATED_PER_RELATION as usize);
            add(Relation::SamePattern, same_pattern);
            let events = incidents::events(c, tenant, id)?;
            Ok(RelatedIncidents { source, related, events })
        })
    }

    /// Counts by status, severity and type and the mean lifecycle durations of the incidents
    /// created in `range` (both ends inclusive), aggregated by the database.
    /// Counts and means of the incidents created in `range` (both ends included): the whole hours
    /// from the incident rollups, the ragged ends from the incidents.
    pub fn incident_stats(&self, tenant: TenantId, range: TimeRange) -> Result<IncidentStats> {
        check_range(range)?;
        let now = self.clock.now();
        // Half-open on the rows' microseconds; open ends span every incident there can be.
        let range = gov_store::analytics::Range {
            from: range.from.unwrap_or(Timestamp::UNIX_EPOCH),
            to: range.to.map_or(now + time::Duration::days(36_500), |t| {
                t.checked_add(time::Duration::MICROSECOND).unwrap_or(t)
            }),
            agent_id: None,
            live_only: false,
        };
        let parts = Parts::of(&range);
        self.db.read(|c| {
            let mut groups = Vec::new();
            for r in &parts.raw {
                groups.extend(incidents::stat_groups(c, tenant, r.from, r.to)?);
            }
            if let Some(h) = &parts.hours {
                groups.extend(gov_store::rollups::incident_groups(c, tenant, h)?);
            }
            Ok(IncidentStats::fold(groups))
        })
    }

    /// The patterns among the newest [`PATTERN_FACTS_LIMIT`] incidents created in `range`.
    pub fn incident_patterns(
        &self,
        tenant: TenantId,
        range: TimeRange,
        min_count: Option<usize>,
    ) -> Result<PatternReport> {
        check_range(range)?;
        let config = PatternConfig { min_count: min_count.unwrap_or(2), ..PatternConfig::default() };
        if !(2..=MAX_MIN_COUNT).contains(&config.min_count) {
            return Err(Error::invalid("min_count", format!("must be within 2..={MAX_MIN_COUNT}")));
        }
        let mut facts = self.db.read(|c| read_facts(c, tenant, range))?;
        let truncated = facts.len() > PATTERN_FACTS_LIMIT as usize;
        facts.truncate(PATTERN_FACTS_LIMIT as usize);
        Ok(PatternReport {
            patterns: patterns::find(&facts, config),
            config,
            incidents_considered: facts.len(),
            truncated,
        })
    }

    /// The incident's postmortem; [`Error::NotFound`] names `postmortem` while none is written.
    pub fn get_postmortem(&self, tenant: TenantId, id: IncidentId) -> Result<Postmortem> {
        self.db.read(|c| {
            incidents::get(c, tenant, id).or_not_found("incident")?;
            postmortems::get(c, tenant, id)?.ok_or(Error::NotFound("postmortem"))
        })
    }

    /// Writes the incident's one postmortem, with its timeline entry and audit row, in one
    /// transaction; a second one is [`Error::PostmortemExists`].
    pub fn create_postmortem(
        &self,
        caller: &Caller,
        id: IncidentId,
        draft: PostmortemDraft,
    ) -> Result<Postmortem> {
        let root_cause = validate::text("root_cause", &draft.root_cause, POSTMORTEM_TEXT_CHARS)?;
        let lessons_learned =
            validate::text("lessons_learned", &draft.lessons_learned, POSTMORTEM_TEXT_CHARS)?;
        if draft.timeline.len() > POSTMORTEM_MAX_ENTRIES {
            return Err(Error::invalid("timeline", format!("at most {POSTMORTEM_MAX_ENTRIES} entries")));
        }
        let timeline = draft
            .timeline
            .iter()
            .map(|e| {
                Ok(PostmortemEntry {
                    timestamp: e.timestamp,
                    event: validate::text("timeline.event", &e.event, POSTMORTEM_EVENT_CHARS)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            incidents::get(c, caller.tenant_id, id).or_not_found("incident")?;
            if postmortems::get(c, caller.tenant_id, id)?.is_some() {
                return Err(Error::PostmortemExists(id));
            }
            let postmortem = Postmortem {
                postmortem_id: PostmortemId::new(),
                tenant_id: caller.tenant_id,
                incident_id: id,
                root_cause,
                timeline,
                lessons_learned,
                author: caller.actor.id.clone(),
                created_at: now,
            };
            postmortems::insert(c, &postmortem).map_err(|e| match e {
                StoreError::Conflict(_) => Error::PostmortemExists(id),
                other => other.into(),
            })?;
            crate::rollups::record_incident_event(
                c,
                caller.tenant_id,
                id,
                gov_model::IncidentEventKind::Postmortem,
                &caller.actor.id,
                &postmortem.root_cause,
                now,
            )?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "postmortem.created",
                    resource_type: "incident",
                    resource_id: id.to_string(),
                    details: json!({
                        "postmortem_id": postmortem.postmortem_id.to_string(),
                        "timeline_entries": postmortem.timeline.len(),
                    }),
                },
                now,
            )?;
            Ok(postmortem)
        })
    }
}
