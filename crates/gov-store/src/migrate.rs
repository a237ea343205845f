//! The embedded migrations (one folder per backend) and the operations on them.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Db, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Serialises migration runs of several replicas starting at once on one PostgreSQL.
const PG_MIGRATION_LOCK: i64 = 0x0067_6f76_5f6d_6967; // "gov_mig"

/// One migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: String,
    pub applied: bool,
}

fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(db: &Db) -> Result<Vec<String>, StoreError> {
    db.with_writer(
        |c| Ok(c.run_pending_migrations(SQLITE).map_err(fail)?.iter().map(|v| v.to_string()).collect()),
        |c| {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map_err(fail)
                .map(|vs| vs.iter().map(|v| v.to_string()).collect::<Vec<_>>());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            result
        },
    )
}

/// Reverts the most recent migration; returns its version.
pub fn revert_last(db: &Db) -> Result<String, StoreError> {
    db.with_writer(
        |c| c.revert_last_migration(SQLITE).map(|v| v.to_string()).map_err(fail),
        |c| c.revert_last_migration(POSTGRES).map(|v| v.to_string()).map_err(fail),
    )
}

/// Reverts every applied migration; returns the versions reverted, newest first.
pub fn revert_all(db: &Db) -> Result<Vec<String>, StoreError> {
    db.with_writer(
        |c| Ok(c.revert_all_migrations(SQLITE).map_err(fail)?.iter().map(|v| v.to_string()).collect()),
        |c| Ok(c.revert_all_migrations(POSTGRES).map_err(fail)?.iter().map(|v| v.to_string()).collect()),
    )
}

/// Every known migration, oldest first, with whether it is applied.
pub fn status(db: &Db) -> Result<Vec<MigrationStatus>, StoreError> {
    fn collect(
        all: &EmbeddedMigrations,
        applied: Vec<diesel::migration::MigrationVersion<'static>>,
    ) -> Result<Vec<MigrationStatus>, StoreError> {
        use diesel::migration::MigrationSource;
        let all = MigrationSource::<diesel::sqlite::Sqlite>::migrations(all).map_err(fail)?;
        Ok(all
            .iter()
            .map(|m| {
                let version = m.name().version().as_owned();
                MigrationStatus { applied: applied.contains(&version), version: version.to_string() }
            })
            .collect())
    }
    db.with_writer(
        |c| collect(&SQLITE, c.applied_migrations().map_err(fail)?),
        |c| collect(&POSTGRES, c.applied_migrations().map_err(fail)?),
    )
}
