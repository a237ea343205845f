//! Migrations run up, down and up again on a fresh database, and append-only tables stay so.

use gov_model::Actor;

use crate::helpers::{TestApp, TestDb, raw_count, raw_execute};

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDb::create_unmigrated();
    let gov = db.gov();
    let applied = gov.migrate_up().unwrap();
    assert!(!applied.is_empty());
    assert!(gov.migrate_status().unwrap().iter().all(|m| m.applied));
    gov.create_tenant(&Actor::cli(), "before").unwrap();

    let reverted = gov.migrate_down_all().unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert!(gov.migrate_status().unwrap().iter().all(|m| !m.applied));
    assert!(gov.list_tenants().is_err(), "tables are gone");

    assert_eq!(gov.migrate_up().unwrap(), applied);
    assert!(gov.migrate_up().unwrap().is_empty(), "idempotent");
    assert!(gov.list_tenants().unwrap().is_empty());
    gov.create_tenant(&Actor::cli(), "after").unwrap();
}

#[tokio::test]
async fn audit_rows_cannot_be_updated_or_deleted() {
    let app = TestApp::spawn().await;
    let url = app.db_url();
    assert!(app.audit_count() > 0);
    assert!(raw_execute(url, "UPDATE audit_logs SET action = 'forged'").is_err());
    assert!(raw_execute(url, "DELETE FROM audit_logs").is_err());
    assert!(app.audit_count() > 0);
}

#[tokio::test]
async fn upgrading_seeds_the_levers_of_existing_tenants() {
    let db = TestDb::create_unmigrated();
    let gov = db.gov();
    gov.migrate_up().unwrap();
    // Back to before the levers (000003) and every migration that follows it.
    while !gov.migrate_down().unwrap().ends_with("000003") {}
    let url = db.url();
    raw_execute(url, "INSERT INTO tenants (tenant_id, name, plan, created_at, settings) VALUES ('t-old', 'old', 'self_hosted', '2026-01-01 00:00:00', '{}')").unwrap();
    gov.migrate_up().unwrap();
    for (table, rows) in [
        ("go_live_state", 1),
        ("risk_policy", 4),
        ("heimdall_policy", 4),
        ("regression_policy", 4),
        ("regression_state", 4),
    ] {
        assert_eq!(
            raw_count(url, &format!("SELECT count(*) AS n FROM {table} WHERE tenant_id = 't-old'")),
            rows,
            "{table}"
        );
    }
    assert_eq!(raw_count(url, "SELECT count(*) AS n FROM go_live_state WHERE go_live_enabled"), 0);
}

#[tokio::test]
async fn a_decision_pair_from_before_the_one_decision_rule_survives_it_and_replays_the_grant() {
    let db = TestDb::create_unmigrated();
    let gov = db.gov();
    gov.migrate_up().unwrap();
    let tenant = gov.create_tenant(&Actor::cli(), "old").unwrap().tenant.id;
    // Before 000005, racing replicas on PostgreSQL could record both decisions for one id.
    while !gov.migrate_down().unwrap().ends_with("000005") {}
    let url = db.url();
    for (id, action, ok) in [("e1", "RESERVE", "TRUE"), ("e2", "DENY", "FALSE")] {
        raw_execute(url, &format!("INSERT INTO risk_event (id, tenant_id, engine, action, amount, ok, reason, actor, correlation_id, created_at) VALUES ('{id}', '{tenant}', 'WHOLESALE', '{action}', 100, {ok}, 'booking', 'deal_engine', 'raced', '2026-11-30 12:00:00')")).unwrap();
    }
    gov.migrate_up().unwrap();
    assert_eq!(
        raw_count(url, "SELECT count(*) AS n FROM risk_event WHERE correlation_id = 'raced'"),
        2,
        "evidence is kept"
    );

    let caller = gov_facades::Caller { tenant_id: tenant, actor: Actor::cli() };
    let reservation = |correlation_id: &str| gov_facades::Reservation {
        engine: "WHOLESALE".into(),
        amount: 100.0,
        actor: "deal_engine".into(),
        reason: "booking".into(),
        correlation_id: correlation_id.into(),
    };
    let replay = gov.check_and_reserve(&caller, reservation("raced")).unwrap();
    assert!(replay.replayed && replay.ok, "the RESERVE is the decision the ledger holds: {replay:?}");

    // From now on the database holds every id to one decision.
    assert!(gov.check_and_reserve(&caller, reservation("fresh")).unwrap().ok);
    let second = raw_execute(
        url,
        &format!(
            "INSERT INTO risk_event (id, tenant_id, engine, action, amount, ok, reason, actor, correlation_id, created_at, one_decision) VALUES ('e3', '{tenant}', 'WHOLESALE', 'DENY', 100, FALSE, 'x', 'y', 'fresh', '2026-11-30 12:00:00', TRUE)"
        ),
    );
    assert!(second.is_err(), "a second decision for one id is refused");
}
