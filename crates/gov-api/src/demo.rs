//! `gov demo`: reproduces the seed scenario (seed 000 §6) through the HTTP API, against a running
//! server or an in-process one, and prints the cross-reference table of §6.2 with the real ids.

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The ids the scenario produced and how they link.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub run_id: String,
    pub run_status: String,
    pub stopped_at_step: i64,
    pub incident_id: String,
    pub incident_type: String,
    pub severity: String,
    pub policy_id: String,
    pub policy_violations: i64,
    pub trace_id: String,
    pub inflection_step: i64,
    pub chain_verified: bool,
    pub cost_cents: f64,
    pub tokens_used: i64,
}

struct Api {
    agent: ureq::Agent,
    base: String,
    key: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.key);
        let mut res = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call()?,
            (_, Some(body)) => self.agent.post(&url).header("Authorization", &auth).send_json(&body)?,
            (_, None) => self.agent.post(&url).header("Authorization", &auth).send_empty()?,
        };
        let status = res.status().as_u16();
        let value = res.body_mut().read_json::<Value>().unwrap_or(Value::Null);
        Ok((status, value))
    }

    fn expect(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> anyhow::Result<Value> {
        let (got, value) = self.call(method, path, body)?;
        if got != status {
            bail!("{method} {path}: expected HTTP {status}, got {got}: {value}");
        }
        Ok(value)
    }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_default()
}

/// Runs the scenario against `base` (e.g. `http://127.0.0.1:8080`) with an admin key.
pub fn run(base: &str, key: &str) -> anyhow::Result<DemoReport> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let api = Api { agent, base: base.trim_end_matches('/').to_owned(), key: key.to_owned() };

    let policy = api.expect(
        "POST",
        "/api/v1/policies/rules/",
        Some(json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000,
                    "action": "STOP", "severity": "high", "description": "Seed scenario POL-001"})),
        201,
    )?;
    let policy_id = text(&policy["entity"]["policy_id"]);
    let started = api.expect(
        "POST",
        "/api/v1/runs",
        Some(json!({"agent_id": "AGT-001", "goal": "seed scenario"})),
        201,
    )?;
    let run_id = text(&started["run"]["run_id"]);
    let steps = [
        json!({"step_type": "input", "input_tokens": 2000}),
        json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"}),
        json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}),
    ];
    let mut last = Value::Null;
    for step in steps {
        last = api.expect("POST", &format!("/api/v1/runs/{run_id}/steps"), Some(step), 201)?;
    }
    if last["decision"] != "BLOCK" {
        bail!("step 3 was not blocked: {last}");
    }
    let (refused, _) =
        api.call("POST", &format!("/api/v1/runs/{run_id}/steps"), Some(json!({"step_type": "violation"})))?;
    if refused != 409 {
        bail!("a step after the stop was answered {refused}, not 409");
    }
    let incident_id = text(&last["incident_id"]);
    let run = api.expect("GET", &format!("/api/v1/activity/{run_id}"), None, 200)?;
    let incident = api.expect("GET", &format!("/api/v1/incidents/{incident_id}"), None, 200)?;
    let policy = api.expect("GET", &format!("/api/v1/policies/{policy_id}"), None, 200)?;
    let trace_id = text(&run["entity"]["trace_id"]);
    let trace = api.expect("GET", &format!("/api/v1/traces/{trace_id}"), None, 200)?;
    let costs = api.expect("GET", &format!("/api/v1/analytics/costs?run_id={run_id}"), None, 200)?;

    let (run, incident, policy, trace) =
        (&run["entity"], &incident["entity"], &policy["entity"], &trace["entity"]);
    let links = [
        (incident["source_run_id"] == run_id.as_str(), "incident.source_run_id -> run"),
        (incident["policy_id"] == policy_id.as_str(), "incident.policy_id -> policy"),
        (trace["run_id"] == run_id.as_str(), "trace.run_id -> run"),
        (trace["incident_id"] == incident_id.as_str(), "trace.incident_id -> incident"),
        (run["violation_policy_id"] == policy_id.as_str(), "run.violation_policy_id -> policy"),
    ];
    for (ok, link) in links {
        if !ok {
            bail!("broken link: {link}");
        }
    }
    let cost_cents = costs["items"]
        .as_array()
        .context("cost items")?
        .iter()
        .filter_map(|c| c["cost_cents"].as_f64())
        .sum();
    Ok(DemoReport {
        run_status: text(&run["status"]),
        stopped_at_step: run["stopped_at_step"].as_i64().unwrap_or(0),
        incident_type: text(&incident["type"]),
        severity: text(&incident["severity"]),
        policy_violations: policy["violation_count"].as_i64().unwrap_or(0),
        inflection_step: trace["violation_step_index"].as_i64().unwrap_or(0),
        chain_verified: trace["integrity"]["verified"].as_bool().unwrap_or(false),
        tokens_used: run["tokens_used"].as_i64().unwrap_or(0),
        cost_cents,
        run_id,
        incident_id,
        policy_id,
        trace_id,
    })
}

/// The seed's §6.2 table, with the real ids.
pub fn table(r: &DemoReport) -> String {
    let rows = [
        (
            "Activity/Completed",
            format!(
                "Run {} ({}, stopped at step {}, {} tokens)",
                r.run_id, r.run_status, r.stopped_at_step, r.tokens_used
            ),
            "Primary".to_owned(),
        ),
        (
            "Incidents/Active",
            format!("Incident {} ({}, {})", r.incident_id, r.incident_type, r.severity),
            format!("source_run_id -> {}", r.run_id),
        ),
        (
            "Policies/Active",
            format!("Policy {} ({} violation)", r.policy_id, r.policy_violations),
            format!("policy_id from {}", r.incident_id),
        ),
        (
            "Logs/LLM Runs",
            format!(
                "Trace {} (inflection at step {}, chain {})",
                r.trace_id,
                r.inflection_step,
                if r.chain_verified { "verified" } else { "BROKEN" }
            ),
            format!("run_id -> {}", r.run_id),
        ),
        (
            "Analytics/Cost",
            format!("Cost for {} ({} cents)", r.run_id, r.cost_cents),
            format!("run_id -> {}", r.run_id),
        ),
    ];
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let mut out = format!("| {:w0$} | {:w1$} | {:w2$} |\n", "Panel", "Expected Data", "Linked Via");
    out.push_str(&format!("|{}|{}|{}|\n", "-".repeat(w0 + 2), "-".repeat(w1 + 2), "-".repeat(w2 + 2)));
    for (panel, data, link) in rows {
        out.push_str(&format!("| {panel:w0$} | {data:w1$} | {link:w2$} |\n"));
    }
    out
}
