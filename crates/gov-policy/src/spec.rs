//! Validation of a policy spec, and of the extra limits attached to a policy: every reason it
//! is invalid, each naming its field.

use gov_model::{LimitScope, PolicySpec, RuleType, ScopeType};

use crate::condition::validate_condition;
use crate::error::{Position, SpecError};
use crate::monitor::Monitor;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_MODEL_CHARS: usize = 200;
pub const MAX_THRESHOLD: f64 = 1e12;
/// 31 days: the longest rate window.
pub const MAX_WINDOW_SECONDS: i64 = 2_678_400;
pub const MAX_PRIORITY: i32 = 10_000;

/// Every reason `spec` is invalid, or `Ok` when there is none.
pub fn validate_spec(spec: &PolicySpec) -> Result<(), Vec<SpecError>> {
    let mut errors = Errors::default();
    let name = spec.name.trim().chars().count();
    if name == 0 || name > MAX_NAME_CHARS {
        errors.push("name", format!("must be 1 to {MAX_NAME_CHARS} characters (after trimming)"));
    }
    if spec.description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push("description", format!("must be at most {MAX_DESCRIPTION_CHARS} characters"));
    }
    numeric(spec, &mut errors);
    models(spec, &mut errors);
    condition(spec, &mut errors);
    for monitor in Monitor::required_by(spec.rule_type) {
        if !monitor.is_on(&spec.monitors) {
            errors.push(
                format!("monitors.{}", monitor.name()),
                format!("must be on for a {} rule", spec.rule_type),
            );
        }
    }
    if let Some(pct) = spec.near_threshold_pct
        && !(pct > 0.0 && pct < 100.0)
    {
        errors.push("near_threshold_pct", "must be above 0 and below 100");
    }
    scope(spec, &mut errors);
    if !(0..=MAX_PRIORITY).contains(&spec.priority) {
        errors.push("priority", format!("must be 0 to {MAX_PRIORITY}"));
    }
    errors.finish()
}

/// Every reason an extra limit is invalid: the same rules as a numeric policy's own threshold.
pub fn validate_limit(
    limit_type: RuleType,
    value: f64,
    window_seconds: Option<i64>,
    scope: LimitScope,
) -> Result<(), Vec<SpecError>> {
    let mut errors = Errors::default();
    if limit_type.is_numeric() {
        threshold("value", Some(value), &mut errors);
        window("window_seconds", "scope", limit_type, window_seconds, scope, &mut errors);
    } else {
        errors.push("limit_type", format!("must be a numeric rule type, not {limit_type}"));
    }
    errors.finish()
}

fn numeric(spec: &PolicySpec, errors: &mut Errors) {
    if spec.rule_type.is_numeric() {
        threshold("threshold", spec.threshold, errors);
        window(
            "window_seconds",
            "limit_scope",
            spec.rule_type,
            spec.window_seconds,
            spec.limit_scope,
            errors,
        );
    } else if spec.threshold.is_some() {
        errors.push("threshold", format!("must not be set for a {} rule", spec.rule_type));
    }
}

fn threshold(field: &str, value: Option<f64>, errors: &mut Errors) {
    match value {
        None => errors.push(field, "is required for a numeric rule"),
        Some(value) if !(value.is_finite() && value > 0.0 && value <= MAX_THRESHOLD) => {
            errors.push(field, format!("must be a finite number above 0 and at most {MAX_THRESHOLD:e}"));
        }
        Some(_) => {}
    }
}

fn window(
    window_field: &str,
    scope_field: &str,
    rule_type: RuleType,
    window_seconds: Option<i64>,
    scope: LimitScope,
    errors: &mut Errors,
) {
    if rule_type == RuleType::RateLimit {
        if !window_seconds.is_some_and(|w| (1..=MAX_WINDOW_SECONDS).contains(&w)) {
            errors.push(
                window_field,
                format!("is required for a rate_limit, 1 to {MAX_WINDOW_SECONDS} seconds"),
            );
        }
        if !matches!(scope, LimitScope::Agent | LimitScope::ApiKey) {
            errors.push(scope_field, "must be AGENT or API_KEY for a rate_limit");
        }
    } else {
        if window_seconds.is_some() {
            errors.push(window_field, format!("must not be set for a {rule_type} rule"));
        }
        if scope != LimitScope::Run {
            errors.push(scope_field, format!("must be RUN for a {rule_type} rule"));
        }
    }
}

fn models(spec: &PolicySpec, errors: &mut Errors) {
    if spec.rule_type == RuleType::ModelAllowlist {
        if spec.models.is_empty() {
            errors.push("models", "must list at least one model");
        }
        for (i, model) in spec.models.iter().enumerate() {
            let chars = model.trim().chars().count();
            if chars == 0 || chars > MAX_MODEL_CHARS {
                errors.push(format!("models[{i}]"), format!("must be 1 to {MAX_MODEL_CHARS} characters"));
            }
        }
    } else if !spec.models.is_empty() {
        errors.push("models", format!("must be empty for a {} rule", spec.rule_type));
    }
}

fn condition(spec: &PolicySpec, errors: &mut Errors) {
    match (&spec.condition, spec.rule_type == RuleType::Custom) {
        (None, true) => errors.push("condition", "is required for a custom rule"),
        (Some(source), true) => {
            if let Err(error) = validate_condition(source, &spec.monitors) {
                errors.push_at("condition", error.message, error.position);
            }
        }
        (Some(_), false) => {
            errors.push("condition", format!("must not be set for a {} rule", spec.rule_type))
        }
        (None, false) => {}
    }
}

fn scope(spec: &PolicySpec, errors: &mut Errors) {
    let scope = &spec.scope;
    let lists = [
        (ScopeType::Agent, "scope.agent_ids", &scope.agent_ids),
        (ScopeType::ApiKey, "scope.api_key_ids", &scope.api_key_ids),
        (ScopeType::HumanActor, "scope.human_actor_ids", &scope.human_actor_ids),
    ];
    let kind = scope.kind();
    for (list_kind, field, ids) in lists {
        if list_kind == kind {
            if ids.is_empty() {
                errors.push(field, format!("must name at least one target for scope {kind}"));
            }
            for (i, id) in ids.iter().enumerate() {
                if id.trim().is_empty() {
                    errors.push(format!("{field}[{i}]"), "must not be blank");
                }
            }
        } else if !ids.is_empty() {
            errors.push(field, format!("must be empty for scope {kind}"));
        }
    }
}

#[derive(Default)]
struct Errors(Vec<SpecError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push_at(field, message, None);
    }

    fn push_at(&mut self, field: impl Into<String>, message: impl Into<String>, position: Option<Position>) {
        self.0.push(SpecError { field: field.into(), message: message.into(), position });
    }

    fn finish(self) -> Result<(), Vec<SpecError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use gov_model::{Monitors, PolicyScope};

    use super::*;
    use crate::testing::spec;

    /// Applies `edit` to a valid spec of `rule_type`; expects exactly the fields listed to be
    /// reported (in order), or none.
    fn check(rule_type: RuleType, edit: impl FnOnce(&mut PolicySpec), expected: &[&str]) {
        let mut spec = spec(rule_type);
        edit(&mut spec);
        let fields: Vec<String> = match validate_spec(&spec) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        };
        assert_eq!(fields, expected, "{rule_type}: {spec:?}");
    }

    #[test]
    fn the_fixtures_are_valid() {
        for rule_type in RuleType::ALL {
            check(*rule_type, |_| {}, &[]);
        }
    }

    #[test]
    fn name_description_priority_and_near_pct() {
        use RuleType::TokenLimit as T;
        check(T, |s| s.name = "  ".into(), &["name"]);
        check(T, |s| s.name = "x".repeat(200), &[]);
        check(T, |s| s.name = format!(" {} ", "é".repeat(200)), &[]);
        check(T, |s| s.name = "x".repeat(201), &["name"]);
        check(T, |s| s.description = "d".repeat(2000), &[]);
        check(T, |s| s.description = "d".repeat(2001), &["description"]);
        check(T, |s| s.priority = 0, &[]);
        check(T, |s| s.priority = 10_000, &[]);
        check(T, |s| s.priority = -1, &["priority"]);
        check(T, |s| s.priority = 10_001, &["priority"]);
        check(T, |s| s.near_threshold_pct = Some(99.5), &[]);
        check(T, |s| s.near_threshold_pct = Some(0.0), &["near_threshold_pct"]);
        check(T, |s| s.near_threshold_pct = Some(100.0), &["near_threshold_pct"]);
        check(T, |s| s.near_threshold_pct = Some(f64::NAN), &["near_threshold_pct"]);
    }

    #[test]
    fn numeric_rules_need_a_sane_threshold_and_window() {
        use RuleType::*;
        check(CostLimit, |s| s.threshold = None, &["threshold"]);
        check(CostLimit, |s| s.threshold = Some(0.0), &["threshold"]);
        check(CostLimit, |s| s.threshold = Some(-5.0), &["threshold"]);
        check(CostLimit, |s| s.threshold = Some(f64::INFINITY), &["threshold"]);
        check(CostLimit, |s| s.threshold = Some(f64::NAN), &["threshold"]);
        check(CostLimit, |s| s.threshold = Some(1e12), &[]);
        check(CostLimit, |s| s.threshold = Some(1.000_001e12), &["threshold"]);
        check(StepLimit, |s| s.window_seconds = Some(60), &["window_seconds"]);
        check(BurnRate, |s| s.limit_scope = LimitScope::Agent, &["limit_scope"]);
        check(RateLimit, |s| s.window_seconds = None, &["window_seconds"]);
        check(RateLimit, |s| s.window_seconds = Some(0), &["window_seconds"]);
        check(RateLimit, |s| s.window_seconds = Some(2_678_400), &[]);
        check(RateLimit, |s| s.window_seconds = Some(2_678_401), &["window_seconds"]);
        check(RateLimit, |s| s.limit_scope = LimitScope::ApiKey, &[]);
        check(RateLimit, |s| s.limit_scope = LimitScope::Run, &["limit_scope"]);
        check(ModelAllowlist, |s| s.threshold = Some(5.0), &["threshold"]);
        check(Custom, |s| s.threshold = Some(5.0), &["threshold"]);
    }

    #[test]
    fn models_only_for_allowlists() {
        use RuleType::*;
        check(ModelAllowlist, |s| s.models.clear(), &["models"]);
        check(
            ModelAllowlist,
            |s| s.models = vec!["a".into(), " ".into(), "m".repeat(201)],
            &["models[1]", "models[2]"],
        );
        check(TokenLimit, |s| s.models = vec!["a".into()], &["models"]);
    }

    #[test]
    fn conditions_only_for_custom_rules_and_with_their_position() {
        use RuleType::*;
        check(Custom, |s| s.condition = None, &["condition"]);
        check(Custom, |s| s.condition = Some("step.nope > 1".into()), &["condition"]);
        check(TokenLimit, |s| s.condition = Some("true".into()), &["condition"]);
        let mut spec = spec(Custom);
        spec.condition = Some("step.tokens >\n 1 +".into());
        let errors = validate_spec(&spec).unwrap_err();
        assert_eq!(errors[0].position, Some(Position { line: 2, column: 5 }), "{errors:?}");
    }

    #[test]
    fn rule_types_need_their_monitors() {
        use RuleType::*;
        let off = Monitors { tokens: false, cost: false, burn_rate: false, steps: false, rag: false };
        check(TokenLimit, |s| s.monitors = off, &["monitors.tokens"]);
        check(CostLimit, |s| s.monitors = off, &["monitors.cost"]);
        check(StepLimit, |s| s.monitors = off, &["monitors.steps"]);
        check(RateLimit, |s| s.monitors = off, &["monitors.steps"]);
        check(BurnRate, |s| s.monitors = off, &["monitors.burn_rate", "monitors.cost"]);
        check(ModelAllowlist, |s| s.monitors = off, &[]);
        check(Custom, |s| s.monitors.tokens = false, &["condition"]);
        check(Custom, |s| s.monitors.cost = false, &[]);
    }

    #[test]
    fn scopes_name_exactly_their_targets() {
        use RuleType::TokenLimit as T;
        let scope = |kind, agents: &[&str], keys: &[&str], humans: &[&str]| {
            let owned = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect();
            PolicyScope {
                scope_type: kind,
                agent_ids: owned(agents),
                api_key_ids: owned(keys),
                human_actor_ids: owned(humans),
            }
        };
        check(T, |s| s.scope = scope(None, &[], &[], &[]), &[]);
        check(T, |s| s.scope = scope(None, &["a"], &[], &[]), &["scope.agent_ids"]);
        check(
            T,
            |s| s.scope = scope(Some(ScopeType::AllRuns), &[], &["k"], &["h"]),
            &["scope.api_key_ids", "scope.human_actor_ids"],
        );
        check(T, |s| s.scope = scope(Some(ScopeType::Agent), &["a", " "], &[], &[]), &["scope.agent_ids[1]"]);
        check(T, |s| s.scope = scope(Some(ScopeType::Agent), &[], &[], &[]), &["scope.agent_ids"]);
        check(T, |s| s.scope = scope(Some(ScopeType::ApiKey), &["a"], &["k"], &[]), &["scope.agent_ids"]);
        check(T, |s| s.scope = scope(Some(ScopeType::ApiKey), &[], &[], &[]), &["scope.api_key_ids"]);
        check(T, |s| s.scope = scope(Some(ScopeType::HumanActor), &[], &[], &["h"]), &[]);
        check(
            T,
            |s| s.scope = scope(Some(ScopeType::HumanActor), &[], &[], &[""]),
            &["scope.human_actor_ids[0]"],
        );
    }

    #[test]
    fn reports_every_error_at_once() {
        check(
            RuleType::RateLimit,
            |s| {
                s.name.clear();
                s.threshold = None;
                s.window_seconds = None;
                s.priority = -3;
            },
            &["name", "threshold", "window_seconds", "priority"],
        );
    }

    #[test]
    fn limits_follow_the_numeric_rules() {
        let check = |limit_type, value, window, scope, expected: &[&str]| {
            let fields: Vec<String> = validate_limit(limit_type, value, window, scope)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect();
            assert_eq!(fields, expected, "{limit_type} {value} {window:?} {scope}");
        };
        use LimitScope::*;
        use RuleType::*;
        check(TokenLimit, 100.0, None, Run, &[]);
        check(TokenLimit, 0.0, Some(5), Agent, &["value", "window_seconds", "scope"]);
        check(RateLimit, 10.0, Some(60), ApiKey, &[]);
        check(RateLimit, 10.0, None, Run, &["window_seconds", "scope"]);
        check(Custom, 10.0, None, Run, &["limit_type"]);
    }
}
