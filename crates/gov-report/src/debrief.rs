//! The executive debrief: one or two pages of plain language for leadership.

use gov_evidence::{ExecutiveDebriefBundle, Integrity};

use crate::pdf::Block;
use crate::text::{dollars, grouped};

pub fn blocks(bundle: &ExecutiveDebriefBundle, integrity: &Integrity) -> Vec<Block> {
    let e = &bundle.evidence;
    let impact = &bundle.business_impact;
    let agents =
        if impact.agents_affected.is_empty() { "none".to_owned() } else { impact.agents_affected.join(", ") };
    vec![
        Block::Title("Executive debrief".to_owned()),
        Block::Paragraph(format!("Incident {}: {}", e.incident_id, e.incident.title)),
        Block::Fields(vec![
            ("Risk level".into(), bundle.risk_level.to_uppercase()),
            ("Severity".into(), e.incident.severity.clone()),
            ("Status".into(), e.incident.status.clone()),
            ("Opened".into(), e.incident.created_at.clone()),
            ("Generated".into(), format!("{} by {}", e.generated_at, e.generated_by)),
        ]),
        Block::Heading("What happened".to_owned()),
        Block::Paragraph(bundle.incident_summary.clone()),
        Block::Heading("Business impact".to_owned()),
        Block::Fields(vec![
            (
                "Spent".into(),
                format!("{} ({} tokens)", dollars(impact.cost_spent_cents), grouped(impact.tokens_spent)),
            ),
            ("Kept from being spent".into(), dollars(impact.cost_stopped_cents)),
            (
                "Time to stop".into(),
                impact
                    .seconds_to_stop
                    .map_or_else(|| "not stopped".to_owned(), |s| format!("{s:.1} seconds")),
            ),
            ("Runs affected".into(), grouped(impact.runs_affected)),
            ("Agents affected".into(), agents),
        ]),
        Block::Heading("Recommended actions".to_owned()),
        Block::Bullets(bundle.recommended_actions.clone()),
        Block::Heading("Evidence".to_owned()),
        Block::Paragraph(format!(
            "This debrief is derived from the signed evidence bundle {} ({} steps). Its hash:",
            e.bundle_id,
            grouped(e.steps.len() as i64)
        )),
        Block::Line(integrity.bundle_hash.clone()),
        Block::Paragraph(format!(
            "Signed with key {}. Check it with `gov verify BUNDLE.json --pdf DEBRIEF.pdf`.",
            integrity.key_id
        )),
    ]
}
