//! Shared domain vocabulary of gov: ids, enums and value types used by every layer.
//! Nothing here does I/O; types carry their own invariants so callers cannot build invalid ones.

pub mod defaults;

mod account;
mod enums;
mod evidence;
mod export;
mod ids;
mod incident;
mod levers;
mod merge;
mod page;
mod policy;
mod principal;
mod proposal;
mod regression;
mod run;
mod scope;
mod system_log;
mod trace;

pub use account::{ApiKey, AuditCheckpoint, AuditEntry, AuditRecord, NewAuditEntry, Role, Tenant, User};
pub use enums::UnknownVariant;
pub use evidence::{
    AgentKill, CostRecord, OverrideKind, OverrideRecord, PolicySnapshot, PreventionRecord, SignalType,
    ThresholdSignal,
};
pub use export::{EvidenceExport, ExportFormat, ExportKind, KeySource, SigningKeyRecord};
pub use ids::{
    ApiKeyId, AuditLogId, CommentId, CostRecordId, ExportId, IdParseError, IncidentId, LimitId, OverrideId,
    PolicyId, PostmortemId, PreventionRecordId, ProposalId, RunId, SignalId, SnapshotId, StepId, SystemLogId,
    TenantId, TraceId, UserId,
};
pub use incident::{
    Incident, IncidentComment, IncidentEvent, IncidentEventKind, IncidentStatus, Postmortem, PostmortemEntry,
};
pub use levers::{
    GoLiveState, HeimdallPolicy, HeimdallRecommendation, HeimdallScorecard, RiskAction, RiskCaps, RiskEvent,
    RiskLedgerDay, RiskPolicy,
};
pub use merge::{Source, TimeKey, merge};
pub use page::{
    COUNT_CAP, Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest, SortDirection, SortKey, Total,
};
pub use policy::{
    BreachAction, ConflictStrategy, EnforcementMode, LimitScope, Monitors, PolicyControls, PolicyLimit,
    PolicyRule, PolicyScope, PolicySpec, PolicyStatus, PolicyVersion, RuleType, ScopeType, Severity,
};
pub use principal::{Actor, Principal};
pub use proposal::{PolicyProposal, ProposalStatus};
pub use regression::{KpiEvent, RegressionAction, RegressionPolicy, RegressionState};
pub use run::{PolicyViolationType, Run, RunStatus, RunTerminationReason};
pub use scope::{Scope, ScopeSet, UnknownScope};
pub use system_log::{LogLevel, LogSource, SystemLog};
pub use trace::{Outcome, StepLevel, TraceStep, TraceSummary, TraceVerification};

/// A point in time, always UTC.
pub type Timestamp = time::OffsetDateTime;
