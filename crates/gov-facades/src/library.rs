//! The policy library: built-in templates a tenant can start from (seed 000 §6.1's POL-001 first).

use gov_model::{
    BreachAction, LimitScope, Monitors, PolicyScope, PolicySpec, PolicyStatus, RuleType, Severity,
};

/// A ready-made policy definition.
#[derive(Debug, Clone)]
pub struct Template {
    pub template_id: &'static str,
    pub summary: &'static str,
    pub spec: PolicySpec,
}

fn spec(
    name: &str,
    description: &str,
    rule_type: RuleType,
    threshold: Option<f64>,
    action: BreachAction,
    severity: Severity,
) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        description: description.to_owned(),
        rule_type,
        condition: None,
        threshold,
        window_seconds: None,
        limit_scope: LimitScope::Run,
        models: Vec::new(),
        action,
        severity,
        scope: PolicyScope::all_runs(),
        priority: 100,
        monitors: Monitors::default(),
        near_threshold_pct: None,
        status: PolicyStatus::Active,
    }
}

/// Every template, in a stable order.
pub fn templates() -> Vec<Template> {
    vec![
        Template {
            template_id: "POL-001",
            summary: "Stop any run that uses 10,000 tokens or more.",
            spec: spec(
                "Token Limit Policy",
                "Caps the tokens of a single run.",
                RuleType::TokenLimit,
                Some(10_000.0),
                BreachAction::Stop,
                Severity::High,
            ),
        },
        Template {
            template_id: "POL-002",
            summary: "Stop any run that costs $5 or more.",
            spec: spec(
                "Run Cost Limit",
                "Caps the cost of a single run, in cents.",
                RuleType::CostLimit,
                Some(500.0),
                BreachAction::Stop,
                Severity::High,
            ),
        },
        Template {
            template_id: "POL-003",
            summary: "Pause a run at its 50th step until someone approves it to go on.",
            spec: spec(
                "Step Limit",
                "Catches agents that loop.",
                RuleType::StepLimit,
                Some(50.0),
                BreachAction::Pause,
                Severity::Medium,
            ),
        },
        Template {
            template_id: "POL-004",
            summary: "At most 60 steps per agent per minute, across its runs.",
            spec: PolicySpec {
                window_seconds: Some(60),
                limit_scope: LimitScope::Agent,
                ..spec(
                    "Agent Rate Limit",
                    "Throttles agents that call models too often.",
                    RuleType::RateLimit,
                    Some(60.0),
                    BreachAction::Warn,
                    Severity::Medium,
                )
            },
        },
        Template {
            template_id: "POL-005",
            summary: "Stop a run that burns more than $1 per minute.",
            spec: spec(
                "Burn Rate Guard",
                "Cost per minute within a run, averaged over at least one minute.",
                RuleType::BurnRate,
                Some(100.0),
                BreachAction::Stop,
                Severity::High,
            ),
        },
        Template {
            template_id: "POL-006",
            summary: "Only approved models may be called.",
            spec: PolicySpec {
                models: vec!["claude-sonnet-4".to_owned(), "claude-haiku-4".to_owned()],
                ..spec(
                    "Approved Models",
                    "Blocks calls to models outside the list.",
                    RuleType::ModelAllowlist,
                    None,
                    BreachAction::Stop,
                    Severity::High,
                )
            },
        },
        Template {
            template_id: "POL-007",
            summary: "Kill an agent whose single step costs more than $2.",
            spec: PolicySpec {
                condition: Some("step.cost_cents > 200.0".to_owned()),
                ..spec(
                    "Expensive Step Tripwire",
                    "A custom CEL condition over the step and run signals.",
                    RuleType::Custom,
                    None,
                    BreachAction::Kill,
                    Severity::Critical,
                )
            },
        },
    ]
}
