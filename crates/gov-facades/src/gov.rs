//! The [`Gov`] handle every entry point (HTTP API, command line, tests) works through.

use std::sync::Arc;

use gov_model::{Actor, TenantId};
use gov_store::{Backend, Db, DbOptions, StoreError, migrate};

use crate::auth_cache::AuthCache;
use crate::golive::GoLiveCache;
use crate::signing::SigningState;
use crate::snapshot_cache::SnapshotCache;
use crate::{Clock, CreatedKey, Result, SystemClock};

/// Everything a use case needs: the database, the clock and the signing key. Cheap to clone.
#[derive(Clone)]
pub struct Gov {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) snapshots: Arc<SnapshotCache>,
    pub(crate) auth_cache: Arc<AuthCache>,
    pub(crate) go_live_cache: Arc<GoLiveCache>,
    pub(crate) signing: Arc<SigningState>,
}

/// Who is calling a use case and on behalf of which tenant.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: TenantId,
    pub actor: Actor,
}

/// A tenant just created, with its first admin key (shown once).
#[derive(Debug, Clone)]
pub struct CreatedTenant {
    pub tenant: gov_model::Tenant,
    pub admin_key: CreatedKey,
}

impl Gov {
    /// Connects without touching the schema (see [`Gov::migrate_up`]).
    pub fn connect(database_url: &str, options: &DbOptions) -> Result<Gov> {
        Ok(Gov {
            db: Db::connect(database_url, options)?,
            clock: Arc::new(SystemClock),
            snapshots: Arc::new(SnapshotCache::default()),
            auth_cache: Arc::new(AuthCache::default()),
            go_live_cache: Arc::new(GoLiveCache::default()),
            signing: Arc::new(SigningState::default()),
        })
    }

    /// Replaces the clock (tests that need to move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Gov {
        self.clock = clock;
        self
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn now(&self) -> gov_model::Timestamp {
        self.clock.now()
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<()> {
        Ok(self.db.ping()?)
    }

    pub fn migrate_up(&self) -> Result<Vec<String>> {
        let applied = migrate::run_pending(&self.db)?;
        self.log_migrations(&applied)?;
        self.backfill_rollups()?;
        Ok(applied)
    }

    pub fn migrate_down(&self) -> Result<String> {
        migrate::revert_last(&self.db).map_err(|e| match e {
            StoreError::Migration(msg) => crate::Error::Migration(msg),
            other => other.into(),
        })
    }

    pub fn migrate_down_all(&self) -> Result<Vec<String>> {
        Ok(migrate::revert_all(&self.db)?)
    }

    pub fn migrate_status(&self) -> Result<Vec<migrate::MigrationStatus>> {
        Ok(migrate::status(&self.db)?)
    }
}
