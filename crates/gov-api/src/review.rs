//! `gov review`: the seed's Monday control-plane review of one tenant, as readable tables or as
//! JSON whose sections are exactly what the four review endpoints answer.

use gov_facades::ControlReview;
use serde_json::{Value, json};

use crate::routes::golive::GoLiveStateOut;
use crate::routes::heimdall::{ScorecardOut, ScorecardTodayOut};
use crate::routes::regression::RegressionStateOut;
use crate::routes::risk::LedgerTodayOut;

/// A plain text table: a header row, a rule, then the rows, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:w$}")).collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(&mut header.iter().copied());
    out.push_str(&line(&mut rule.iter().map(String::as_str)));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn when(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// The review as text.
pub fn render(r: &ControlReview) -> String {
    let mut out =
        format!("Control-plane review of tenant {:?} ({}) at {}\n\n", r.tenant.name, r.tenant.id, when(r.at));

    out.push_str("1. Go-live (GET /api/governance/go-live/state)\n");
    let g = &r.go_live;
    out.push_str(&table(
        &["GO-LIVE", "KILL SWITCH", "CHANGED BY", "REASON", "AT"],
        &[vec![
            if g.go_live_enabled { "enabled" } else { "disabled" }.to_owned(),
            if g.kill_switch_engaged { "ENGAGED" } else { "released" }.to_owned(),
            g.changed_by.clone(),
            g.reason.clone(),
            when(g.updated_at),
        ]],
    ));

    out.push_str(&format!(
        "\n2. Risk ledger today, {} UTC (GET /api/governance/risk/ledger/today)\n",
        r.risk.day
    ));
    let rows: Vec<Vec<String>> = r
        .risk
        .ledgers
        .iter()
        .map(|l| {
            vec![
                l.engine.clone(),
                money(l.exposure_used),
                money(l.open_risk_reserved),
                money(l.realized_loss),
                l.actions_count.to_string(),
                r.risk.denials.get(&l.engine).copied().unwrap_or(0).to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("  no reservations today\n");
    } else {
        out.push_str(&table(
            &["ENGINE", "EXPOSURE", "OPEN RISK", "REALIZED LOSS", "ACTIONS", "DENIALS"],
            &rows,
        ));
    }
    out.push_str(&format!(
        "  reservations {}, settlements {}, denials {} ({:.1}% of requests)\n",
        r.risk.reservations,
        r.risk.settlements,
        r.risk.denied(),
        r.risk.denial_rate() * 100.0
    ));
    for (reason, n) in &r.risk.denial_reasons {
        out.push_str(&format!("  denied for {reason}: {n}\n"));
    }

    out.push_str("\n3. Regression tripwires (GET /api/governance/regression/state)\n");
    let rows: Vec<Vec<String>> = r
        .tripwires
        .iter()
        .map(|(p, s)| {
            let today = r
                .kpi_today
                .iter()
                .find(|(d, m, _, _)| *d == p.domain && *m == p.metric)
                .map_or(0, |(_, _, n, _)| *n);
            vec![
                format!("{}/{}", p.domain, p.metric),
                p.action.as_str().to_owned(),
                if p.enabled { "yes" } else { "no" }.to_owned(),
                if s.triggered { "TRIPPED" } else { "no" }.to_owned(),
                pct(s.baseline),
                pct(s.current),
                format!("{} / {}", pct(s.drop_fraction), pct(Some(p.max_drop_fraction))),
                today.to_string(),
                s.incident_id.map(|i| i.to_string()).unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "TRIPWIRE",
            "ACTION",
            "ENABLED",
            "TRIGGERED",
            "BASELINE",
            "CURRENT",
            "DROP / LIMIT",
            "EVENTS TODAY",
            "INCIDENT",
        ],
        &rows,
    ));

    out.push_str(&format!(
        "\n4. Heimdall sandbox scorecards, {} UTC (GET /api/governance/heimdall/scorecard/today)\n",
        r.scorecard_day
    ));
    let rows: Vec<Vec<String>> = r
        .scorecards
        .iter()
        .map(|s| {
            let floor = r.heimdall.iter().find(|p| p.domain == s.domain).map(|p| p.min_sandbox_success_rate);
            vec![
                s.domain.clone(),
                s.trials.to_string(),
                s.successes.to_string(),
                pct(Some(s.success_rate)),
                pct(floor),
                format!("{:.3}", s.avg_confidence),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("  no sandbox trials today\n");
    } else {
        out.push_str(&table(
            &["DOMAIN", "TRIALS", "SUCCESSES", "SUCCESS RATE", "FLOOR", "AVG CONFIDENCE"],
            &rows,
        ));
    }

    let healthy = r.findings.iter().all(|f| f.healthy);
    out.push_str(&format!(
        "\nDecision: {}\n",
        if healthy { "healthy" } else { "act on the items marked ACT" }
    ));
    for f in &r.findings {
        out.push_str(&format!("  [{}] {}: {}\n", if f.healthy { "ok " } else { "ACT" }, f.check, f.detail));
    }
    out
}

/// The review as JSON: each section as its endpoint answers, plus the findings.
pub fn to_json(r: &ControlReview, enforced: bool) -> Value {
    let scorecards = ScorecardTodayOut {
        day: r.scorecard_day.to_string(),
        scorecards: r.scorecards.iter().cloned().map(ScorecardOut::from).collect(),
    };
    let tripwires: Vec<RegressionStateOut> =
        r.tripwires.iter().map(|(p, s)| RegressionStateOut::new(p, s.clone())).collect();
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| json!({ "check": f.check, "healthy": f.healthy, "detail": f.detail }))
        .collect();
    let kpi_today: Vec<Value> = r
        .kpi_today
        .iter()
        .map(|(d, m, n, ok)| json!({ "domain": d, "metric": m, "events": n, "successes": ok }))
        .collect();
    json!({
        "tenant": { "tenant_id": r.tenant.id.to_string(), "name": r.tenant.name },
        "at": r.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "healthy": r.findings.iter().all(|f| f.healthy),
        "go_live": GoLiveStateOut::new(r.go_live.clone(), enforced),
        "risk": LedgerTodayOut::from(r.risk.clone()),
        "regression": tripwires,
        "kpi_today": kpi_today,
        "heimdall": scorecards,
        "findings": findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let t = table(&["A", "LONG"], &[vec!["wide cell".into(), "x".into()], vec!["b".into(), "yy".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "  A          LONG");
        assert_eq!(lines[1], "  ---------  ----");
        assert_eq!(lines[2], "  wide cell  x");
        assert_eq!(lines[3], "  b          yy");
    }
}
