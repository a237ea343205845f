//! Schema-only types for the OpenAPI document: what a request's strings must look like as the
//! facades check them (`validate::text`, closed vocabularies), so the document refuses what the
//! server refuses. Fields keep their Rust types and point here with `value_type = ...`.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// No control characters (`char::is_control`: U+0000..U+001F, U+007F..U+009F) and at least one
/// character that is not white space: what is left after the facade trims the value.
const TEXT_PATTERN: &str =
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn text(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(TEXT_PATTERN))
}

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values))
}

macro_rules! schema_types {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let schema: ObjectBuilder = $schema;
                RefOr::T(Schema::Object(schema.build()))
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

schema_types! {
    /// 1 to 100 characters, not blank, no control characters (surrounding white space is trimmed).
    Text100 => text(100).description(Some("1 to 100 characters, not blank, no control characters."));
    /// An identifier a caller chooses (agent, actor, engine, correlation id): 1 to 200 characters.
    Identifier => text(200).description(Some("1 to 200 characters, not blank, no control characters."));
    Text200 => text(200).description(Some("1 to 200 characters, not blank, no control characters."));
    Text2000 => text(2000).description(Some("1 to 2000 characters, not blank, no control characters."));
    Text1000 => text(1000).description(Some("1 to 1000 characters, not blank, no control characters."));
    Text4000 => text(4000).description(Some("1 to 4000 characters, not blank, no control characters."));
    Text10000 => text(10_000).description(Some("1 to 10000 characters, not blank, no control characters."));
    /// `local@domain.tld`, compared case-insensitively.
    Email => ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(3))
        .max_length(Some(254))
        .pattern(Some(r"^[^\s@\u0000-\u001f\u007f-\u009f]+@[^\s@.\u0000-\u001f\u007f-\u009f][^\s@\u0000-\u001f\u007f-\u009f]*\.[^\s@\u0000-\u001f\u007f-\u009f]*[^\s@.\u0000-\u001f\u007f-\u009f]$"))
        .description(Some("An e-mail address (stored lower-cased)."));
    /// A regression domain or metric: 1 to 64 of `A-Z a-z 0-9 _ . -` (domains are upper-cased).
    Name64 => ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*[A-Za-z0-9_.-]{1,64}\s*$"));
    /// A step's type or source: 1 to 64 of `A-Z a-z 0-9 _ - . : /`.
    Word64 => ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*[A-Za-z0-9_.:/-]{1,64}\s*$"));
    /// A model name: 1 to 200 of `A-Z a-z 0-9 _ - . : /`.
    Word200 => ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*[A-Za-z0-9_.:/-]{1,200}\s*$"));
    /// A blake3 hash: 64 hex digits.
    Blake3Hex => ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-fA-F]{64}$"));
    /// How a run ended, as its agent reports it.
    CompletionStatus => one_of(["succeeded", "failed"]);
    /// A step's log level.
    StepLevel => one_of(["debug", "info", "warn", "error"]);
    /// An API key scope.
    ScopeName => one_of(gov_model::Scope::ALL.iter().map(|s| s.as_str()));
    /// A user's console role.
    RoleName => one_of(gov_model::Role::ALL.iter().map(|r| r.as_str()));
    /// What an export holds.
    ExportKind => one_of(gov_model::ExportKind::ALL.iter().map(|k| k.as_str()));
    /// The form of an export's body.
    ExportFormat => one_of(gov_model::ExportFormat::ALL.iter().map(|f| f.as_str()));
    /// The form of a report export: the PDF (default) or the sealed JSON bundle.
    ReportFormat => one_of(["pdf", "json"]);
    /// The form of an evidence bundle export: JSON only.
    EvidenceFormat => one_of(["json"]);
    /// The bytes of a PDF document.
    PdfBytes => ObjectBuilder::new().schema_type(Type::String).content_media_type("application/pdf")
        .description(Some("A PDF document (binary)."));
    RunStatus => one_of(gov_model::RunStatus::ALL.iter().map(|s| s.as_str()));
    IncidentStatus => one_of(gov_model::IncidentStatus::ALL.iter().map(|s| s.as_str()));
    Severity => one_of(gov_model::Severity::ALL.iter().map(|s| s.as_str()));
    PolicyStatus => one_of(gov_model::PolicyStatus::ALL.iter().map(|s| s.as_str()));
    ProposalStatus => one_of(gov_model::ProposalStatus::ALL.iter().map(|s| s.as_str()));
    RuleType => one_of(gov_model::RuleType::ALL.iter().map(|s| s.as_str()));
    ScopeType => one_of(gov_model::ScopeType::ALL.iter().map(|s| s.as_str()));
    SignalType => one_of(gov_model::SignalType::ALL.iter().map(|s| s.as_str()));
    BreachAction => one_of(gov_model::BreachAction::ALL.iter().map(|s| s.as_str()));
    EnforcementMode => one_of(gov_model::EnforcementMode::ALL.iter().map(|s| s.as_str()));
    ConflictStrategy => one_of(gov_model::ConflictStrategy::ALL.iter().map(|s| s.as_str()));
    LimitScope => one_of(gov_model::LimitScope::ALL.iter().map(|s| s.as_str()));
    RegressionAction => one_of(gov_model::RegressionAction::ALL.iter().map(|s| s.as_str()));
    /// The audit topic of a log export.
    AuditTopic => one_of(["audit"]);
    /// The LLM-runs topic of a log export.
    LlmRunsTopic => one_of(["llm_runs"]);
    /// The width of an analytics bucket.
    AnalyticsBucket => one_of(gov_facades::Bucket::ALL.iter().map(|b| b.as_str()));
    /// A log topic that can be exported.
    LogTopicName => one_of(["llm_runs", "audit"]);
    /// A system event's level.
    LogLevelName => one_of(gov_model::LogLevel::ALL.iter().map(|l| l.as_str()));
    /// What emitted a system event.
    LogSourceName => one_of(gov_model::LogSource::ALL.iter().map(|s| s.as_str()));
    /// A topic of `/logs/`.
    LogsTopicName => one_of(["llm_runs", "system", "audit"]);
    /// The format of a log export.
    LogExportFormat => one_of(["json", "csv"]);
    /// Why an incident is related to another.
    IncidentRelation => one_of(["same_run", "same_policy", "same_agent", "same_pattern"]);
    /// What kind of incident pattern.
    PatternKind => one_of(gov_facades::PatternKind::ALL.iter().map(|k| k.as_str()));
    /// `asc` or `desc`.
    Direction => one_of(["asc", "desc"]);
    /// How much of a trace's hash chain a read re-walks.
    ChainDepth => one_of(gov_facades::ChainDepth::ALL.iter().map(|d| d.as_str()));
    /// An opaque page cursor: the `pagination.next_cursor` of a previous page.
    Cursor => ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::cursor::MAX_CURSOR_CHARS))
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .description(Some("The pagination.next_cursor of the previous page (opaque)."));
    /// What runs are sorted by.
    RunSort => one_of(["started_at", "tokens_used", "total_cost_cents"]);
    /// The length of an Overview metrics period.
    OverviewPeriod => one_of(gov_facades::Period::ALL.iter().map(|p| p.as_str()));
    /// How many items an Overview list holds: 1 to 100.
    OverviewLimit => ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(100));
    /// What users are sorted by.
    UserSort => one_of(["created_at", "email", "name"]);
    /// An RFC 3339 time.
    DateTime => ObjectBuilder::new().schema_type(Type::String).format(Some(
        utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime),
    ));
}

/// The body of `POST /api/v1/logs/export`: each topic takes the filters of its own list endpoint
/// (`GET /api/v1/logs/audit`, `GET /api/v1/logs/llm-runs`), and a filter of the other is refused.
/// The handler reads `routes::log_export::LogExportIn`; this states the same rules per topic.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LogExportRequest {
    Audit(AuditLogExport),
    LlmRuns(LlmRunsLogExport),
}

#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AuditLogExport {
    #[schema(value_type = AuditTopic)]
    topic: String,
    #[schema(value_type = LogExportFormat)]
    format: String,
    /// e.g. `api_key.created`.
    action: Option<String>,
    /// e.g. `api_key`, `user`, `tenant`.
    resource_type: Option<String>,
    resource_id: Option<String>,
    actor_id: Option<String>,
    /// Only rows at or after this time (`timestamp`).
    #[schema(value_type = Option<DateTime>)]
    from: Option<String>,
    /// Only rows at or before this time.
    #[schema(value_type = Option<DateTime>)]
    to: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LlmRunsLogExport {
    #[schema(value_type = LlmRunsTopic)]
    topic: String,
    #[schema(value_type = LogExportFormat)]
    format: String,
    /// The trace's status, as in `GET /api/v1/logs/llm-runs` (e.g. running, failed_policy).
    status: Option<String>,
    agent_id: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    run_id: Option<String>,
    /// true: only traces with an inflection point.
    has_violation: Option<bool>,
    /// Only rows at or after this time (`started_at`).
    #[schema(value_type = Option<DateTime>)]
    from: Option<String>,
    /// Only rows at or before this time.
    #[schema(value_type = Option<DateTime>)]
    to: Option<String>,
}
