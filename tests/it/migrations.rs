//! Migrations run up, down and up again on a fresh database, and append-only tables stay so.

use diesel::Connection;
use diesel::RunQueryDsl;
use gov_model::Actor;

use crate::helpers::{TestApp, TestDb};

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

fn raw_execute(url: &str, sql: &str) -> Result<usize, diesel::result::Error> {
    if url.starts_with("postgres") {
        let mut c = diesel::pg::PgConnection::establish(url).unwrap();
        diesel::sql_query(sql).execute(&mut c)
    } else {
        let mut c = diesel::sqlite::SqliteConnection::establish(url).unwrap();
        diesel::sql_query(sql).execute(&mut c)
    }
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
