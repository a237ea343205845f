//! The SQLite writer: one thread owns the only write connection and commits the queued write
//! transactions in batches (group commit). Each transaction runs in its own savepoint inside the
//! batch, so one that fails rolls back alone; none is answered before the batch has committed.
//!
//! SQLite admits one writer at a time. Handing one connection from request thread to request
//! thread costs a context switch per write, and each commit costs a sync; a single thread that
//! drains the queue pays neither per request.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};

use diesel::sqlite::SqliteConnection;

use crate::StoreError;

/// Most transactions committed together (a bound on how long a batch holds the write lock).
const MAX_BATCH: usize = 128;

/// Called with the batch's commit outcome: delivers the transaction's result to its caller.
pub(crate) type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs one transaction's work on the write connection and returns how to answer it.
pub(crate) type Job = Box<dyn FnOnce(&mut SqliteConnection) -> Reply + Send>;

/// Opens (or reopens, after a panic) the write connection.
pub(crate) type Open = Box<dyn Fn() -> Result<SqliteConnection, StoreError> + Send>;

#[derive(Clone)]
pub(crate) struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    pub fn start(open: Open) -> Result<Writer, StoreError> {
        let conn = open()?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("gov-sqlite-writer".to_owned())
            .spawn(move || run(conn, queue, open))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { jobs })
    }

    pub fn submit(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.send(job).map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".to_owned()))
    }
}

/// `first` and whatever else is queued already, up to `max` in all (a batch: never waits).
pub(crate) fn drain<T>(queue: &Receiver<T>, first: T, max: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

fn run(mut conn: SqliteConnection, queue: Receiver<Job>, open: Open) {
    while let Ok(first) = queue.recv() {
        let mut batch = drain(&queue, first, MAX_BATCH);
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            conn.immediate_transaction::<(), diesel::result::Error, _>(|c| {
                for job in batch.drain(..) {
                    replies.push(job(c));
                }
                Ok(())
            })
        }));
        let committed = match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("commit failed: {e}")),
            Err(_) => {
                // A job panicked mid-transaction: start over on a fresh connection (the old one
                // rolls back as it closes). The panicking job's caller sees its reply dropped.
                tracing::error!("a write transaction panicked; reopening the SQLite write connection");
                match open() {
                    Ok(fresh) => conn = fresh,
                    Err(e) => tracing::error!(error = %e, "cannot reopen the SQLite write connection"),
                }
                Err("the batch was rolled back".to_owned())
            }
        };
        for reply in replies {
            reply(committed.clone());
        }
    }
}
