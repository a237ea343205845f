//! The go-live guard and execution classes (seed 004 `GoLiveMiddleware`, `ExecutionClassMiddleware`):
//! which requests a tenant that is not live may still make, and which are refused while its kill
//! switch is engaged. One list, in one place.

use actix_web::http::Method;

/// How a request relates to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Allowed whatever the go-live state: reads, the governance levers themselves, identity
    /// administration and read-only checks (what an operator needs to recover).
    Exempt,
    /// Refused while the tenant is not live (when `GO_LIVE_ENFORCE` is on).
    Guarded,
    /// Executes in production: guarded, and also refused while the kill switch is engaged. The
    /// use case checks the switch in its own transaction (never from a cache), so a request on
    /// any replica is refused once an engage is acknowledged. (Steps of runs already started are
    /// answered BLOCK by the prevention path instead.)
    ProdExec,
}

/// Requests that execute in production.
const PROD_EXEC: &[(&str, &str)] =
    &[("POST", "/api/v1/runs"), ("POST", "/api/governance/risk/check-and-reserve")];

/// Paths (prefixes) that stay open when a tenant is not live.
const EXEMPT_PREFIXES: &[&str] = &["/api/governance/", "/api/v1/accounts/", "/api/v1/connectivity/api-keys/"];

/// Writes that change nothing (answers only).
const READ_ONLY_POSTS: &[&str] = &[
    "/api/v1/policies/validate",
    "/api/v1/traces/{trace_id}/replay",
    "/api/v1/runs/{run_id}/steps/check",
    // Exporting evidence reads (its only write is the export's own record): an auditor can
    // export while the kill switch is engaged.
    "/api/v1/incidents/{incident_id}/export/evidence",
    "/api/v1/incidents/{incident_id}/export/soc2",
    "/api/v1/incidents/{incident_id}/export/executive-debrief",
    "/api/v1/logs/export",
];

/// The class of a request, by method and matched route pattern.
pub fn classify(method: &Method, pattern: &str) -> Class {
    if PROD_EXEC.iter().any(|(m, p)| method.as_str() == *m && pattern == *p) {
        return Class::ProdExec;
    }
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST && READ_ONLY_POSTS.contains(&pattern));
    if read || EXEMPT_PREFIXES.iter().any(|p| pattern.starts_with(p)) {
        return Class::Exempt;
    }
    Class::Guarded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: Method, pattern: &str, expected: Class) {
        assert_eq!(classify(&method, pattern), expected, "{method} {pattern}");
    }

    #[test]
    fn classes() {
        check(Method::POST, "/api/v1/runs", Class::ProdExec);
        check(Method::POST, "/api/governance/risk/check-and-reserve", Class::ProdExec);
        check(Method::POST, "/api/governance/go-live/kill-switch/release", Class::Exempt);
        check(Method::GET, "/api/v1/incidents/", Class::Exempt);
        check(Method::POST, "/api/v1/runs/{run_id}/steps/check", Class::Exempt);
        check(Method::POST, "/api/v1/connectivity/api-keys/", Class::Exempt);
        check(Method::POST, "/api/v1/runs/{run_id}/steps", Class::Guarded);
        check(Method::POST, "/api/v1/policies/rules/", Class::Guarded);
        check(Method::POST, "/api/v1/incidents/{incident_id}/resolve", Class::Guarded);
    }
}
