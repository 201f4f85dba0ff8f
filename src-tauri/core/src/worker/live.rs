//! What runs beside an agent: the claim's lease is renewed before it runs out, the claim is
//! watched for a rival that shows up late, the task gets `agent-working` once the run has
//! lasted a while, and (for employees with `live_progress`) progress lines are posted to the
//! task — as one comment edited in place at most every [`PERIOD`], so a busy agent can flood
//! neither the task nor the rate limit.

use super::messages;
use crate::claims::Claim;
use crate::labels;
use crate::source::Source;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PERIOD: Duration = Duration::from_secs(30);

/// How long a run goes before the task is labelled `agent-working` (a short run goes from
/// no label straight to `agent-done`, one write less). That write's answer is also the late
/// look at the task's claims: a claim that Todoist showed later than the settle time stops
/// the run then at the latest.
pub const LABEL_AFTER: Duration = Duration::from_secs(15);

/// How often the snapshot is checked for a rival claim (no request: any read refreshes it).
const WATCH_EVERY: Duration = Duration::from_millis(500);

pub struct Companion {
    pending: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: JoinHandle<After>,
}

/// The claim being kept alive.
pub struct Lease {
    pub claim: Claim,
    pub note_id: String,
    /// When the source stamped the claim (the lease counts from it).
    pub posted_at: Option<DateTime<Utc>>,
    /// Comment ids the claimer knew of when it decided to claim.
    pub known: HashSet<String>,
    pub default_lease: u64,
    pub dead: HashSet<String>,
}

/// What the companion did that the run's end must know.
#[derive(Debug, Default, Clone)]
pub struct After {
    /// The live progress comment, if one was posted.
    pub progress_note: Option<String>,
    /// The labels this run put on the task, if it did.
    pub labelled: bool,
    /// Another machine's claim came first after all (the machine, and its end comment when
    /// it already finished): the run was stopped.
    pub lost_to: Option<(String, Option<String>)>,
}

impl Companion {
    /// Starts beside a run; `stop_run` is cancelled when the claim turns out lost.
    pub fn start(
        source: Source,
        task_id: String,
        live: Option<Duration>,
        lease: Lease,
        stop_run: CancellationToken,
    ) -> Self {
        let pending: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = CancellationToken::new();
        let (p, s) = (pending.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut after = After::default();
            // Without live progress the progress timer never fires.
            let mut progress =
                tokio::time::interval(live.unwrap_or(Duration::from_secs(86_400 * 365)));
            progress.tick().await;
            let mut watch = tokio::time::interval(WATCH_EVERY);
            let label_at = tokio::time::sleep(LABEL_AFTER);
            tokio::pin!(label_at);
            let mut note_id = lease.note_id.clone();
            let mut claim = lease.claim.clone();
            let full = claim.lease_secs.unwrap_or(lease.default_lease);
            let posted = match lease.posted_at {
                Some(t) => Some(t),
                None => source.posted_at(&note_id, &task_id).await,
            };
            let mut renew_at = renewal(posted, full, full);
            let renew = tokio::time::sleep(until(renew_at));
            tokio::pin!(renew);
            let mut shown: Vec<String> = Vec::new();
            loop {
                tokio::select! {
                    _ = s.cancelled() => break,
                    _ = watch.tick() => {
                        if let Some(rival) = source
                            .rival(&task_id, &claim.id, &lease.known, lease.default_lease, &lease.dead)
                            .await
                        {
                            tracing::warn!(task = %task_id, machine = %rival.0, "an earlier claim showed up late; stopping the run");
                            after.lost_to = Some(rival);
                            stop_run.cancel();
                            break;
                        }
                    }
                    () = &mut label_at, if !after.labelled => {
                        after.labelled = true;
                        let current = source.labels_now(&task_id).await.unwrap_or_default();
                        if let Err(e) = source.set_labels(&task_id, &labels::claimed(&current)).await {
                            tracing::warn!(error = %e, "cannot label the task as being worked on");
                        }
                    }
                    () = &mut renew => {
                        // The comment keeps its `posted_at`: the new lease counts from it.
                        let held = posted.map_or(full, |t| {
                            (Utc::now() - t).num_seconds().max(0) as u64 + full
                        });
                        claim.lease_secs = Some(held);
                        match source.renew(&task_id, &note_id, &claim).await {
                            Ok(id) => note_id = id,
                            Err(e) => tracing::warn!(error = %e, "cannot renew the claim's lease"),
                        }
                        renew_at = renewal(posted, held, full);
                        renew.as_mut().reset(tokio::time::Instant::now() + until(renew_at));
                    }
                    _ = progress.tick(), if live.is_some() => {
                        let new: Vec<String> =
                            std::mem::take(&mut *p.lock().unwrap_or_else(|e| e.into_inner()));
                        if new.is_empty() {
                            continue;
                        }
                        shown.extend(new);
                        let text = messages::progress(&shown);
                        match source.progress(&task_id, after.progress_note.as_deref(), &text).await {
                            Ok(id) => after.progress_note = id.or(after.progress_note.take()),
                            Err(e) => tracing::warn!(error = %e, "cannot post live progress"),
                        }
                    }
                }
            }
            after
        });
        Self {
            pending,
            stop,
            task,
        }
    }

    pub fn push(&self, line: String) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Stops; what is still pending is covered by the final comment.
    pub async fn stop(self) -> After {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// When a claim holding `held` seconds from `posted` (of a full lease `full`) is renewed:
/// halfway through the last stretch of `full`.
fn renewal(posted: Option<DateTime<Utc>>, held: u64, full: u64) -> DateTime<Utc> {
    let from = posted.unwrap_or_else(Utc::now);
    from + chrono::Duration::seconds(held.saturating_sub(full / 2).min(i64::MAX as u64) as i64)
}

fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_renewed_halfway_through_each_stretch() {
        let t = Utc::now();
        assert_eq!(
            renewal(Some(t), 600, 600),
            t + chrono::Duration::seconds(300)
        );
        // Renewed at 300 s to hold 900 s: next at 600 s.
        assert_eq!(
            renewal(Some(t), 900, 600),
            t + chrono::Duration::seconds(600)
        );
    }
}
