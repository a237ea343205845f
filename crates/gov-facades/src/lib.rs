//! Use cases of gov. Each public method of [`Gov`] is one thing a caller can do: it validates
//! the request, runs the engines, and reads or writes the store in one transaction together
//! with its audit row.

mod accounts;
mod activity;
mod analytics;
mod api_keys;
mod audit;
mod audit_chain;
mod auth_cache;

mod clock;
mod error;
mod exports;
mod generate;
mod golive;
mod gov;
mod heimdall;
mod incident_insight;
mod incidents;
mod library;
mod log_export;
mod logs;
mod overview;
mod policies;
mod proposals;
mod regression;
mod review;
mod risk;
mod rollups;
mod runs;
mod signing;
mod snapshot_cache;
mod steps;
mod traces;
mod validate;

pub use accounts::{NewUser, UserUpdate};
pub use activity::RunDetail;
pub use analytics::{
    AnalyticsQuery, BurnRate, CostAmount, CostGroup, CostIntelligence, CostStopped, Point, PoliciesUsage,
    PolicyActivity, PolicyUsage, Productivity, RunCost, RunFigures, TOP_RUNS,
};
pub use api_keys::{AuthFailure, CreatedKey, NewApiKey};
pub use audit::{AuditQuery, SealReport};
pub use audit_chain::{
    AuditIntegrity, AuditProblem, MAX_PROBLEMS as MAX_AUDIT_PROBLEMS, ProblemKind as AuditProblemKind,
};
pub use clock::{Clock, SystemClock};
pub use error::{Error, Identity};
pub use exports::{EvidenceView, Exported, MAX_REASON_CHARS, NewExport, VIEW_EXPORTS};
pub use generate::{GenerateOptions, Generated};
pub use golive::{LeverChange, STALENESS as GO_LIVE_STALENESS};
pub use gov::{Caller, CreatedTenant, Gov};
pub use gov_evidence::chain::{ChainIntegrity, Depth as ChainDepth, verify as verify_chain};
pub use gov_incident::Transition;
pub use gov_incident::patterns::{Pattern, PatternConfig, PatternKind};
pub use gov_insight::analytics::{Bucket, RunTally, Window as AnalyticsWindow};
pub use gov_insight::health::{Facts as HealthFacts, OpenIncidents};
pub use gov_insight::trend::{Trend, trend};
pub use gov_levers::{
    ChecklistItem, GLOBAL, Gate, MAX_HEALTHY_DENIAL_RATE, ReviewFinding, RiskDay, TRIAL_WINDOW_DAYS,
    gate_reason, gates,
};
pub use gov_prevention::{Decision, Finding, Outcome};
pub use gov_prevention::{ForcedStop, Verdict};
pub use gov_regression::Evaluation;
pub use gov_store::audit::TimeRange;
pub use gov_store::evidence::{EvidenceFilter, ViolationStats};
pub use gov_store::exports::ExportFilter;
pub use gov_store::incidents::{IncidentFilter, IncidentStats};
pub use gov_store::policies::PolicyFilter;
pub use gov_store::proposals::ProposalFilter;
pub use gov_store::runs::{RunFilter, RunSort};
pub use gov_store::system_logs::SystemLogFilter;
pub use gov_store::traces::TraceFilter;
pub use gov_store::users::UserSort;
pub use gov_store::{Backend, DbOptions, SqliteSync, migrate::MigrationStatus};
pub use heimdall::{HeimdallPolicyChange, Judged, NewRecommendation};
pub use incident_insight::{
    MAX_MIN_COUNT, MTTR_TARGET_SECONDS, PATTERN_FACTS_LIMIT, POSTMORTEM_EVENT_CHARS, POSTMORTEM_MAX_ENTRIES,
    POSTMORTEM_TEXT_CHARS, PatternReport, PostmortemDraft, RELATED_PER_RELATION, RelatedIncidents, Relation,
};
pub use library::{Template, templates};
pub use log_export::{
    FinishedLogExport, LogCursor, LogExportSpec, LogExportStart, LogRows, LogSelection, LogTopic,
};
pub use logs::{LogEntry, LogSearch, LogsTopic, trace_level};
pub use overview::{
    DEFAULT_OVERVIEW_ITEMS, DecisionsView, HealthView, MAX_OVERVIEW_ITEMS, MetricsView, OverviewItem,
    OverviewSummary, PendingCounts, Period,
};
pub use policies::{LimitDraft, PolicyDraft, default_severity};
pub use proposals::{MAX_PROPOSAL_TEXT, NewProposal, ProposalEdit, ProposalView};
pub use regression::{
    MAX_EVENTS as MAX_TRIPWIRE_EVENTS, NewKpiEvent, RegressionPolicyChange, THROTTLE_RUNS_PER_WINDOW,
    THROTTLE_WINDOW_SECS, TripwireCheck,
};
pub use review::ControlReview;
pub use risk::{Reservation, RiskDecision, RiskPolicyChange, Settlement};
pub use runs::{Completion, NewRun, OverrideRequest, StartedRun};
pub use steps::{StepInput, StepOutcome};
pub use traces::{InflectionPoint, Replay, ReplayStep, TraceDetail};

pub type Result<T, E = Error> = std::result::Result<T, E>;
