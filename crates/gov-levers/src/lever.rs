//! The go-live levers (seed 004 "Go-Live Endpoints"): what each pull sets, and how it is recorded.

use gov_model::LogLevel;

/// A pull of one of the tenant's production switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    Enable,
    Disable,
    Engage,
    Release,
}

impl Lever {
    /// The audit action and system event name.
    pub const fn action(self) -> &'static str {
        match self {
            Lever::Enable => "go_live.enabled",
            Lever::Disable => "go_live.disabled",
            Lever::Engage => "kill_switch.engaged",
            Lever::Release => "kill_switch.released",
        }
    }

    /// What the pull sets: (go-live enabled, kill switch engaged); `None` leaves it.
    pub const fn sets(self) -> (Option<bool>, Option<bool>) {
        match self {
            Lever::Enable => (Some(true), None),
            Lever::Disable => (Some(false), None),
            Lever::Engage => (None, Some(true)),
            Lever::Release => (None, Some(false)),
        }
    }

    /// A pull that stops production is a warning, one that resumes it is information.
    pub const fn level(self) -> LogLevel {
        match self {
            Lever::Enable | Lever::Release => LogLevel::Info,
            Lever::Disable | Lever::Engage => LogLevel::Warning,
        }
    }

    /// The system event's message.
    pub fn message(self, actor: &str, reason: &str) -> String {
        format!("{} by {actor}: {reason}", self.action().replace(['.', '_'], " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pull_sets_one_switch() {
        #[rustfmt::skip]
        let rows = [
            (Lever::Enable, "go_live.enabled", (Some(true), None), LogLevel::Info, "go live enabled by ops: checklist holds"),
            (Lever::Disable, "go_live.disabled", (Some(false), None), LogLevel::Warning, "go live disabled by ops: checklist holds"),
            (Lever::Engage, "kill_switch.engaged", (None, Some(true)), LogLevel::Warning, "kill switch engaged by ops: checklist holds"),
            (Lever::Release, "kill_switch.released", (None, Some(false)), LogLevel::Info, "kill switch released by ops: checklist holds"),
        ];
        for (lever, action, sets, level, message) in rows {
            assert_eq!(
                (lever.action(), lever.sets(), lever.level(), lever.message("ops", "checklist holds")),
                (action, sets, level, message.to_owned()),
                "{lever:?}"
            );
        }
    }
}
