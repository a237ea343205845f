//! Settings of `gov serve` as operators spell them: booleans as 1/0/true/false/yes/no, and the
//! seed's `ENV=production` / `ENV=development` (seed 004 rollback option 2).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::process::Served;

/// Starts `gov serve` on a fresh SQLite database with `envs`; returns the status of a guarded
/// request of the default tenant (`POST /api/v1/runs`), which is 403 when go-live is enforced.
async fn guarded_status(envs: &[(&str, &str)]) -> StatusCode {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gov.db").display().to_string();
    let served = Served::start(dir.path(), &["--database-url", &db], envs)
        .unwrap_or_else(|e| panic!("gov serve with {envs:?} did not start: {e:?}"));
    let key = served.admin_key.clone().expect("the default tenant's key");
    let res = reqwest::Client::new()
        .post(served.url("/api/v1/runs"))
        .bearer_auth(key)
        .json(&json!({"agent_id": "a"}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::FORBIDDEN {
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "go_live_disabled");
    }
    status
}

#[tokio::test]
async fn boolean_settings_accept_the_usual_spellings() {
    for on in ["1", "true", "yes", "TRUE", "on"] {
        assert_eq!(guarded_status(&[("GOV_GO_LIVE_ENFORCE", on)]).await, StatusCode::FORBIDDEN, "{on}");
    }
    for off in ["0", "false", "no"] {
        assert_eq!(guarded_status(&[("GOV_GO_LIVE_ENFORCE", off)]).await, StatusCode::CREATED, "{off}");
    }
    // The seed's own name, with the same spellings.
    assert_eq!(guarded_status(&[("GO_LIVE_ENFORCE", "1")]).await, StatusCode::FORBIDDEN);
    assert_eq!(guarded_status(&[("GO_LIVE_ENFORCE", "yes")]).await, StatusCode::FORBIDDEN);
    assert_eq!(guarded_status(&[("GO_LIVE_ENFORCE", "0")]).await, StatusCode::CREATED);
    // gov's own name wins over the seed's.
    let both = [("GOV_GO_LIVE_ENFORCE", "0"), ("GO_LIVE_ENFORCE", "1")];
    assert_eq!(guarded_status(&both).await, StatusCode::CREATED);
}

#[tokio::test]
async fn env_development_is_the_seeds_emergency_switch_and_production_enforces_as_configured() {
    let production = [("ENV", "production"), ("GO_LIVE_ENFORCE", "1")];
    assert_eq!(guarded_status(&production).await, StatusCode::FORBIDDEN);
    let development = [("ENV", "development"), ("GO_LIVE_ENFORCE", "1"), ("GOV_GO_LIVE_ENFORCE", "true")];
    assert_eq!(guarded_status(&development).await, StatusCode::CREATED);
}

#[test]
fn a_setting_gov_cannot_read_is_a_start_up_error_that_names_it() {
    for (name, value, named) in [
        ("ENV", "staging", "ENV"),
        ("GO_LIVE_ENFORCE", "maybe", "GO_LIVE_ENFORCE"),
        ("GOV_GO_LIVE_ENFORCE", "2", "go-live-enforce"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gov.db").display().to_string();
        match Served::start(dir.path(), &["--database-url", &db], &[(name, value)]) {
            Ok(_) => panic!("gov serve started with {name}={value}"),
            Err(e) => {
                assert!(e.status.is_some_and(|s| !s.success()), "{name}={value}: {e:?}");
                assert!(e.stderr.contains(named) && e.stderr.contains(value), "{name}={value}: {}", e.stderr);
            }
        }
    }
}
