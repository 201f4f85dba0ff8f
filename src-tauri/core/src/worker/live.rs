//! Optional live progress on the task itself: lines are batched into one comment at most
//! every [`PERIOD`], so a busy agent cannot flood the task or the rate limit.

use super::messages;
use crate::source::Source;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PERIOD: Duration = Duration::from_secs(30);

pub struct LiveComments {
    pending: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl LiveComments {
    pub fn start(source: Source, task_id: String, period: Duration) -> Self {
        let pending: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = CancellationToken::new();
        let (p, s) = (pending.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = s.cancelled() => break,
                }
                let lines: Vec<String> =
                    std::mem::take(&mut *p.lock().unwrap_or_else(|e| e.into_inner()));
                if lines.is_empty() {
                    continue;
                }
                if let Err(e) = source.comment(&task_id, &messages::progress(&lines)).await {
                    tracing::warn!(error = %e, "cannot post a progress comment");
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

    /// Stops posting; what is still pending is covered by the final comment.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
