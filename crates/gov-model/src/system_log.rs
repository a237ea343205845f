//! System events (seed 000 §12.5, `system_logs`): what the deployment did, as opposed to what a
//! caller changed (audit) or what an agent ran (traces).

use crate::enums::str_enum;
use crate::{SystemLogId, TenantId, Timestamp};

str_enum!(
    /// How much a system event matters.
    LogLevel {
        Debug = "debug",
        Info = "info",
        Warning = "warning",
        Error = "error",
        Critical = "critical",
    }
);

str_enum!(
    /// What emitted a system event.
    LogSource {
        Startup = "startup",
        Migrations = "migrations",
        Snapshots = "snapshots",
        GoLive = "go_live",
        Regression = "regression",
        Exports = "exports",
        Signing = "signing",
        Keys = "api_keys",
        Delivery = "delivery",
    }
);

#[derive(Debug, Clone, PartialEq)]
pub struct SystemLog {
    pub log_id: SystemLogId,
    /// `None`: an event of the whole deployment (start-up, migrations, the signing key), shown to
    /// every tenant.
    pub tenant_id: Option<TenantId>,
    pub level: LogLevel,
    pub source: LogSource,
    /// A stable machine name, e.g. `kill_switch.engaged`, `snapshot.integrity_failed`.
    pub event: String,
    pub message: String,
    pub timestamp: Timestamp,
    /// A JSON object with the event's particulars (ids, counts, reasons).
    pub context: serde_json::Value,
}
