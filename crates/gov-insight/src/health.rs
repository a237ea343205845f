//! The Overview's health rule: the facts the facade read about a tenant in, its status and the
//! reasons for it out. Critical beats warning beats healthy; every rule that fires names itself.

use gov_model::{IncidentId, Severity};

/// Above this share of denied risk reservations today, risk policies limit volume (seed 004: < 5%).
pub const MAX_HEALTHY_DENIAL_RATE: f64 = 0.05;

/// The overall status of a tenant, in increasing order of concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Healthy,
    Warning,
    Critical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Warning => "warning",
            Status::Critical => "critical",
        }
    }
}

/// Open (not resolved) incidents of one severity: how many, and the newest of them.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncidents {
    pub count: i64,
    pub newest: Option<(IncidentId, String)>,
}

/// A tripped regression tripwire.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    pub domain: String,
    pub metric: String,
}

/// What the rule looks at; the facade reads it in one transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// `Some((changed_by, reason))` while the kill switch is engaged.
    pub kill_switch: Option<(String, String)>,
    pub critical_incidents: Option<OpenIncidents>,
    pub high_incidents: Option<OpenIncidents>,
    pub tripped: Vec<Tripped>,
    /// NEAR threshold signals in the last hour.
    pub near_last_hour: i64,
    /// Today's (UTC) risk reservations granted and denied.
    pub risk_reserved_today: i64,
    pub risk_denied_today: i64,
    /// Runs paused by a policy, waiting for an override.
    pub paused_runs: i64,
}

/// One rule that fired. `link` is the API path of the object to look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: &'static str,
    pub status: Status,
    pub message: String,
    pub link: String,
}

/// The status and every reason for it (most severe first).
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub status: Status,
    pub reasons: Vec<Reason>,
}

fn incidents_reason(
    code: &'static str,
    status: Status,
    severity: Severity,
    open: &OpenIncidents,
) -> Option<Reason> {
    if open.count == 0 {
        return None;
    }
    let (message, link) = match (&open.newest, open.count) {
        (Some((id, title)), 1) => {
            (format!("1 {} incident open: {title}", severity.as_str()), format!("/api/v1/incidents/{id}"))
        }
        _ => (
            format!("{} {} incidents open", open.count, severity.as_str()),
            format!("/api/v1/incidents/?severity={}", severity.as_str()),
        ),
    };
    Some(Reason { code, status, message, link })
}

/// Critical: kill switch engaged, an open critical incident, a tripped tripwire. Warning: an open
/// high incident, NEAR signals in the last hour, today's risk denial rate above
/// [`MAX_HEALTHY_DENIAL_RATE`], runs paused awaiting an override. Go-live disabled is a choice
/// (and a new tenant's default), not a fault: it is not a reason.
#[allow(clippy::cast_precision_loss)]
pub fn judge(facts: &Facts) -> Health {
    let mut reasons = Vec::new();
    if let Some((by, why)) = &facts.kill_switch {
        reasons.push(Reason {
            code: "kill_switch_engaged",
            status: Status::Critical,
            message: format!("kill switch engaged by {by}: {why}"),
            link: "/api/governance/go-live/state".to_owned(),
        });
    }
    if let Some(open) = &facts.critical_incidents {
        reasons.extend(incidents_reason(
            "critical_incident_open",
            Status::Critical,
            Severity::Critical,
            open,
        ));
    }
    if !facts.tripped.is_empty() {
        let names: Vec<String> = facts.tripped.iter().map(|t| format!("{}/{}", t.domain, t.metric)).collect();
        reasons.push(Reason {
            code: "tripwire_tripped",
            status: Status::Critical,
            message: format!("regression tripwire tripped: {}", names.join(", ")),
            link: "/api/governance/regression/state".to_owned(),
        });
    }
    if let Some(open) = &facts.high_incidents {
        reasons.extend(incidents_reason("high_incident_open", Status::Warning, Severity::High, open));
    }
    if facts.near_last_hour > 0 {
        reasons.push(Reason {
            code: "near_threshold",
            status: Status::Warning,
            message: format!("{} NEAR threshold signals in the last hour", facts.near_last_hour),
            link: "/api/v1/activity/signals?signal_type=NEAR".to_owned(),
        });
    }
    let asked = facts.risk_reserved_today + facts.risk_denied_today;
    if asked > 0 {
        let rate = facts.risk_denied_today as f64 / asked as f64;
        if rate > MAX_HEALTHY_DENIAL_RATE {
            reasons.push(Reason {
                code: "risk_denials_high",
                status: Status::Warning,
                message: format!(
                    "{} of {asked} risk reservations denied today ({:.1}%, above {:.0}%)",
                    facts.risk_denied_today,
                    rate * 100.0,
                    MAX_HEALTHY_DENIAL_RATE * 100.0
                ),
                link: "/api/governance/risk/ledger/today".to_owned(),
            });
        }
    }
    if facts.paused_runs > 0 {
        reasons.push(Reason {
            code: "runs_paused",
            status: Status::Warning,
            message: format!("{} runs paused, awaiting an override", facts.paused_runs),
            link: "/api/v1/activity/live?status=paused".to_owned(),
        });
    }
    let status = reasons.iter().map(|r| r.status).max().unwrap_or(Status::Healthy);
    Health { status, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(facts: Facts, expected: (Status, &[&str])) {
        let health = judge(&facts);
        let codes: Vec<&str> = health.reasons.iter().map(|r| r.code).collect();
        assert_eq!((health.status, codes.as_slice()), expected, "{facts:?}");
    }

    fn live() -> Facts {
        Facts::default()
    }

    fn open(count: i64) -> Option<OpenIncidents> {
        Some(OpenIncidents { count, newest: Some((IncidentId::new(), "t".to_owned())) })
    }

    #[test]
    fn table() {
        check(live(), (Status::Healthy, &[]));
        check(
            Facts { kill_switch: Some(("ops".into(), "drill".into())), ..live() },
            (Status::Critical, &["kill_switch_engaged"]),
        );
        check(
            Facts { critical_incidents: open(1), ..live() },
            (Status::Critical, &["critical_incident_open"]),
        );
        check(Facts { critical_incidents: open(0), ..live() }, (Status::Healthy, &[]));
        check(
            Facts { tripped: vec![Tripped { domain: "d".into(), metric: "m".into() }], ..live() },
            (Status::Critical, &["tripwire_tripped"]),
        );
        check(Facts { high_incidents: open(2), ..live() }, (Status::Warning, &["high_incident_open"]));
        check(Facts { near_last_hour: 1, ..live() }, (Status::Warning, &["near_threshold"]));
        check(Facts { paused_runs: 3, ..live() }, (Status::Warning, &["runs_paused"]));
        // 5 of 100 is the seed's limit, not above it.
        check(Facts { risk_reserved_today: 95, risk_denied_today: 5, ..live() }, (Status::Healthy, &[]));
        check(
            Facts { risk_reserved_today: 94, risk_denied_today: 6, ..live() },
            (Status::Warning, &["risk_denials_high"]),
        );
        check(
            Facts { high_incidents: open(1), critical_incidents: open(1), ..live() },
            (Status::Critical, &["critical_incident_open", "high_incident_open"]),
        );
    }

    #[test]
    fn links_name_the_object() {
        let id = IncidentId::new();
        let one = Facts {
            high_incidents: Some(OpenIncidents { count: 1, newest: Some((id, "Token limit".into())) }),
            ..live()
        };
        assert_eq!(judge(&one).reasons[0].link, format!("/api/v1/incidents/{id}"));
        let many = Facts { high_incidents: open(2), ..live() };
        assert_eq!(judge(&many).reasons[0].link, "/api/v1/incidents/?severity=high");
    }
}
