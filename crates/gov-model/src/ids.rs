//! Typed identifiers. Every id is a UUID underneath; the type says what it names, so a
//! `UserId` can never be passed where a `TenantId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The text given was not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id: {0:?}")]
pub struct IdParseError(pub String);

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7), so new rows append to indexes.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdParseError(s.to_owned()))
            }
        }
    };
}

id_type!(
    /// A tenant: the unit of isolation. Every other row belongs to exactly one.
    TenantId
);
id_type!(
    /// A user of a tenant (a human who can hold roles).
    UserId
);
id_type!(
    /// An API key (the id, never the secret).
    ApiKeyId
);
id_type!(
    /// One row of the audit trail.
    AuditLogId
);
id_type!(
    /// A policy (rule); stable across its versions.
    PolicyId
);
id_type!(
    /// An extra limit attached to a policy.
    LimitId
);
id_type!(
    /// A frozen, hashed copy of the policies that govern one run.
    SnapshotId
);
id_type!(
    /// One governed agent run.
    RunId
);
id_type!(
    /// The evidence trail of one run.
    TraceId
);
id_type!(
    /// One recorded step of a trace.
    StepId
);
id_type!(
    /// An incident (a breach, a failure, an integrity alarm).
    IncidentId
);
id_type!(
    /// A comment on an incident.
    CommentId
);
id_type!(
    /// A prevention record: one enforced (or shadowed) breach.
    PreventionRecordId
);
id_type!(
    /// A NEAR or BREACH threshold signal.
    SignalId
);
id_type!(
    /// An authorised override of a policy for one run.
    OverrideId
);
id_type!(
    /// A cost record (one model's usage within one run).
    CostRecordId
);
id_type!(
    /// One export of evidence (a bundle, a report, a log export).
    ExportId
);
id_type!(
    /// One system event (`system_logs`).
    SystemLogId
);
id_type!(
    /// An incident's postmortem.
    PostmortemId
);
id_type!(
    /// A proposed policy change awaiting review.
    ProposalId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = TenantId::new();
        assert_eq!(id.to_string().parse::<TenantId>(), Ok(id));
        assert!("not-a-uuid".parse::<TenantId>().is_err());
    }
}
