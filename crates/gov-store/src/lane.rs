//! The PostgreSQL group-commit lane: write transactions that contend on a few hot rows (the risk
//! guard's ledger rows) queue for one thread, which commits them in batches. A transaction comes
//! in two phases (`Db::write_prepared`): its reads, which run on the caller's thread on a pooled
//! connection, outside any transaction (they take no locks), and its writes, which queue here and
//! run each in its own savepoint inside the batch's transaction, so one that fails rolls back
//! alone; none is answered before the batch has committed.
//!
//! Why: a transaction holds its row locks until its commit has been flushed, so transactions on
//! one hot row serialise at one flush each, across every replica. In a batch they pay one flush
//! between them. Batches of different replicas still exclude each other on the hot rows (the
//! database's row locks decide, never this process), so correctness is the database's.
//!
//! Deadlocks: a batch takes the locks of all its transactions, so two batches could take them
//! in opposite orders. Transactions therefore run in the order of the key they are submitted
//! with (the caller's lock order, e.g. the tenant's), and callers lock rows in one fixed order
//! within a transaction. A deadlock the order does not rule out rolls back the victim's
//! savepoint only (see `StoreError::Contention`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Instant;

use diesel::Connection;
use diesel::pg::PgConnection;

use crate::StoreError;
use crate::db::{PgPool, pg_attempts, pg_checkout};
use crate::writer::{Reply, drain};

/// Most transactions committed together (a bound on how long a batch holds its locks).
const MAX_BATCH: usize = 64;

/// Runs one queued transaction's writes in a savepoint of the batch's transaction (or learns
/// that there is no connection) and returns how to answer it after the commit.
pub(crate) type PgJob = Box<dyn FnOnce(Result<&mut PgConnection, StoreError>) -> Reply + Send>;

struct Queued {
    key: String,
    job: PgJob,
}

#[derive(Clone)]
pub(crate) struct Lane {
    jobs: Sender<Queued>,
}

impl Lane {
    pub fn start(pool: PgPool) -> Result<Lane, StoreError> {
        let (jobs, queue) = mpsc::channel::<Queued>();
        std::thread::Builder::new()
            .name("gov-pg-lane".to_owned())
            .spawn(move || run(&pool, &queue))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the PostgreSQL lane: {e}")))?;
        Ok(Lane { jobs })
    }

    /// Queues `job`; batches run their jobs in `key` order.
    pub fn submit(&self, key: String, job: PgJob) -> Result<(), StoreError> {
        self.jobs
            .send(Queued { key, job })
            .map_err(|_| StoreError::Unavailable("the PostgreSQL lane has stopped".to_owned()))
    }
}

fn run(pool: &PgPool, queue: &Receiver<Queued>) {
    while let Ok(first) = queue.recv() {
        let mut batch = drain(queue, first, MAX_BATCH);
        // Stable: jobs with one key keep their arrival order.
        batch.sort_by(|a, b| a.key.cmp(&b.key));
        commit(pool, batch);
    }
}

/// Runs `batch` in one transaction and answers every job with its outcome.
fn commit(pool: &PgPool, mut batch: Vec<Queued>) {
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    let mut attempts = 0;
    let committed = loop {
        let mut c = match pg_checkout(pool) {
            Ok(c) => c,
            Err(e) => break Err(e.to_string()),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            c.conn.transaction::<(), diesel::result::Error, _>(|tx| {
                for q in batch.drain(..) {
                    replies.push((q.job)(Ok(tx)));
                }
                Ok(())
            })
        }));
        c.last_used = Instant::now();
        match outcome {
            Ok(Ok(())) => break Ok(()),
            // BEGIN failed on a dead connection before any job ran: another connection may do.
            Ok(Err(e)) if !batch.is_empty() && c.is_lost() && attempts < pg_attempts(pool) => {
                tracing::debug!(error = %e, "BEGIN failed on a lost connection; retrying the batch");
                attempts += 1;
            }
            Ok(Err(e)) => break Err(format!("commit failed: {e}")),
            Err(_) => {
                // A job panicked mid-transaction: the connection is discarded (it rolls back as
                // it closes). The panicking job's caller sees its reply dropped.
                tracing::error!("a write transaction panicked; discarding its PostgreSQL connection");
                c.lost.store(true, Ordering::Relaxed);
                break Err("the batch was rolled back".to_owned());
            }
        }
    };
    // Jobs that never ran (no connection would begin a transaction) changed nothing.
    for q in batch.drain(..) {
        replies.push((q.job)(Err(StoreError::Unavailable(
            "no connection would begin a transaction".to_owned(),
        ))));
    }
    for reply in replies {
        reply(committed.clone());
    }
}
