//! The `gov` command line as operators type it: flags after the subcommand, `review` of the only
//! tenant, a quiet `demo`, and no database created by a mistyped path.

use gov_model::Actor;

use crate::helpers::TestDb;
use crate::helpers::process::{Served, run};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the command exited 0, showing how it ended and what it printed otherwise.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn database_flags_may_follow_the_subcommand() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["tenant", "create", "--name", "acme", "--database-url", db.url()], &[]);
    succeeded(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Created tenant \"acme\"") && stdout.contains("gov_"), "{stdout}");
    let out = run(dir.path(), &["tenant", "list", "--database-url", db.url(), "--pool-size", "2"], &[]);
    succeeded(&out);
    assert!(text(&out.stdout).contains("acme"));
    // Before the subcommand too.
    let out = run(dir.path(), &["--database-url", db.url(), "tenant", "list"], &[]);
    succeeded(&out);
    assert!(text(&out.stdout).contains("acme"));
    let key = ["key", "create", "--tenant", "acme", "--scopes", "read", "--database-url", db.url()];
    let out = run(dir.path(), &key, &[]);
    succeeded(&out);
    assert!(!dir.path().join("gov-data").exists(), "a database was created in the working directory");
}

#[test]
fn review_without_a_tenant_reviews_the_only_one() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    db.gov().create_tenant(&Actor::cli(), "solo").unwrap();
    let out = run(dir.path(), &["review"], &[("DATABASE_URL", db.url())]);
    succeeded(&out);
    assert!(text(&out.stdout).contains("review of tenant \"solo\""), "{}", text(&out.stdout));

    db.gov().create_tenant(&Actor::cli(), "other").unwrap();
    let out = run(dir.path(), &["review"], &[("DATABASE_URL", db.url())]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--tenant") && stderr.contains("solo") && stderr.contains("other"), "{stderr}");
    let out = run(dir.path(), &["review", "--tenant", "other", "--json"], &[("DATABASE_URL", db.url())]);
    succeeded(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tenant"]["name"], "other");
}

#[test]
fn demo_prints_its_table_without_log_lines_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo"], &[]);
    succeeded(&out);
    assert!(text(&out.stdout).contains("Seed scenario"), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr).trim(), "", "log lines without --log");
    let out = run(dir.path(), &["demo"], &[("GOV_LOG", "info")]);
    succeeded(&out);
    assert!(text(&out.stderr).contains("INFO"), "asked for logs: {}", text(&out.stderr));
}

#[test]
fn only_serve_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gov-dta").join("gov.db");
    let url = missing.display().to_string();
    let commands: [&[&str]; 6] = [
        &["tenant", "list"],
        &["tenant", "create", "--name", "x"],
        &["key", "create", "--tenant", "default", "--scopes", "read"],
        &["review"],
        &["migrate", "up"],
        &["migrate", "status"],
    ];
    for args in commands {
        let out = run(dir.path(), args, &[("DATABASE_URL", &url)]);
        assert!(!out.status.success(), "{args:?} succeeded on a database that does not exist");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&url), "{args:?}: the error does not name the path: {stderr}");
        assert!(!stdout_has_key(&out.stdout), "{args:?} printed a key: {}", text(&out.stdout));
        assert!(!missing.parent().unwrap().exists(), "{args:?} created {}", missing.display());
    }
    // The default location, in the working directory.
    let out = run(dir.path(), &["tenant", "create", "--name", "x"], &[]);
    assert!(!out.status.success());
    assert!(!dir.path().join("gov-data").exists());
    // `serve` creates it, folder and all.
    let served = Served::start(dir.path(), &[], &[("DATABASE_URL", &url)]).expect("gov serve");
    assert!(served.admin_key.is_some());
    assert!(missing.exists());
}

fn stdout_has_key(stdout: &[u8]) -> bool {
    text(stdout).lines().any(|l| l.trim().starts_with("gov_"))
}
