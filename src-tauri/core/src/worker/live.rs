//! What runs beside an agent: the claim's lease is renewed before it runs out, and (for
//! employees with `live_progress`) progress lines are posted to the task — as one comment
//! edited in place at most every [`PERIOD`], so a busy agent can flood neither the task nor
//! the rate limit.

use super::messages;
use crate::claims::Claim;
use crate::source::Source;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PERIOD: Duration = Duration::from_secs(30);

pub struct Companion {
    pending: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The claim being kept alive.
pub struct Lease {
    pub claim: Claim,
    pub note_id: String,
    pub renew_every: Duration,
}

impl Companion {
    pub fn start(source: Source, task_id: String, live: Option<Duration>, lease: Lease) -> Self {
        let pending: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = CancellationToken::new();
        let (p, s) = (pending.clone(), stop.clone());
        let task = tokio::spawn(async move {
            // Without live progress the progress timer never fires.
            let mut progress =
                tokio::time::interval(live.unwrap_or(Duration::from_secs(86_400 * 365)));
            progress.tick().await;
            let mut renew = tokio::time::interval(lease.renew_every.max(Duration::from_secs(1)));
            renew.tick().await;
            let mut note_id = lease.note_id;
            let mut progress_note: Option<String> = None;
            let mut shown: Vec<String> = Vec::new();
            loop {
                tokio::select! {
                    _ = s.cancelled() => break,
                    _ = renew.tick() => {
                        match source.renew(&task_id, &note_id, &lease.claim).await {
                            Ok(id) => note_id = id,
                            Err(e) => tracing::warn!(error = %e, "cannot renew the claim's lease"),
                        }
                    }
                    _ = progress.tick(), if live.is_some() => {
                        let new: Vec<String> =
                            std::mem::take(&mut *p.lock().unwrap_or_else(|e| e.into_inner()));
                        if new.is_empty() {
                            continue;
                        }
                        shown.extend(new);
                        let text = messages::progress(&shown);
                        match source.progress(&task_id, progress_note.as_deref(), &text).await {
                            Ok(id) => progress_note = id.or(progress_note),
                            Err(e) => tracing::warn!(error = %e, "cannot post live progress"),
                        }
                    }
                }
            }
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
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
