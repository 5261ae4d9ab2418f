//! Group commits: writes of one kind that arrive while a commit is being made go in the
//! next, in one transaction and one fsync, each in a savepoint of its own: one that fails is
//! rolled back alone and its sender told, the others commit. No write is answered before
//! the commit that holds it. Deliveries (`deliveries.rs`) and, on SQLite, lease renewals
//! (`jobs.rs`) are written so.

use std::future::Future;

use sqlx::{Acquire, Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{Context, StoreError};
use crate::clock::now_ms;

/// A write made in group commits.
pub(super) trait Grouped: Send + Sync + Sized + 'static {
    type Output: Send + 'static;
    /// Writes of this kind one commit takes at most.
    const GROUP: usize;
    /// Writes waiting for a commit at most; past that, senders wait (backpressure).
    const QUEUED: usize;
    /// What the log and errors call a group of them.
    const WHAT: &'static str;

    /// Makes the write inside `tx`, at `now`.
    fn write(
        &self,
        tx: &mut Transaction<'_, Any>,
        now: i64,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;

    /// Hears the size of each group committed.
    fn committed(_size: usize) {}
}

/// A write waiting for the next group commit, and where its answer goes.
pub(super) struct Pending<W: Grouped> {
    write: W,
    answer: oneshot::Sender<Result<W::Output, StoreError>>,
}

/// Starts the task that makes the group commits of `W` on `writes`; it ends when every
/// sender is gone.
pub(super) fn start<W: Grouped>(writes: AnyPool) -> mpsc::Sender<Pending<W>> {
    let (sender, mut queue) = mpsc::channel::<Pending<W>>(W::QUEUED);
    tokio::spawn(async move {
        let mut group = Vec::with_capacity(W::GROUP);
        while queue.recv_many(&mut group, W::GROUP).await > 0 {
            commit_group(&writes, std::mem::take(&mut group)).await;
        }
    });
    sender
}

/// Sends `write` to the group commits of `queue` and waits until it is committed.
pub(super) async fn submit<W: Grouped>(
    queue: &mpsc::Sender<Pending<W>>,
    write: W,
) -> Result<W::Output, StoreError> {
    let (answer, answered) = oneshot::channel();
    let gone = || StoreError::GroupCommit("the store is shutting down".into());
    queue
        .send(Pending { write, answer })
        .await
        .map_err(|_| gone())?;
    answered.await.map_err(|_| gone())?
}

/// Writes `group` in one transaction, then answers each write.
async fn commit_group<W: Grouped>(writes: &AnyPool, group: Vec<Pending<W>>) {
    let now = now_ms();
    let mut tx = match writes.begin().await.context("starting a transaction") {
        Ok(tx) => tx,
        Err(error) => return answer_all(group, &error),
    };
    let mut results = Vec::with_capacity(group.len());
    for pending in &group {
        results.push(in_savepoint(&mut tx, &pending.write, now).await);
    }
    if let Err(error) = tx.commit().await.context("committing a group") {
        return answer_all(group, &error);
    }
    W::committed(group.len());
    for (pending, result) in group.into_iter().zip(results) {
        let _ = pending.answer.send(result);
    }
}

/// Every write of a group that could not be committed gets the reason.
fn answer_all<W: Grouped>(group: Vec<Pending<W>>, error: &StoreError) {
    tracing::error!(%error, writes = group.len(), "a group of {} was not stored", W::WHAT);
    for pending in group {
        let _ = pending
            .answer
            .send(Err(StoreError::GroupCommit(error.to_string())));
    }
}

/// One write in a savepoint: made whole, or rolled back alone.
async fn in_savepoint<W: Grouped>(
    tx: &mut Transaction<'_, Any>,
    write: &W,
    now: i64,
) -> Result<W::Output, StoreError> {
    let mut savepoint = tx.begin().await.context("starting a savepoint")?;
    let written = write.write(&mut savepoint, now).await?;
    savepoint.commit().await.context("releasing a savepoint")?;
    Ok(written)
}
