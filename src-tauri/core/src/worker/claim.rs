//! The claim flow of one cycle: a claim written for a task and settled, the next task
//! claimed while the current one settles, a lost claim taken back, and the ends of earlier
//! runs carried to the next request (each backed by the outbox until Todoist has it).

use super::{ProblemKind, Shared, Worker, WorkerError, pick};
use crate::claims::{self, Claim};
use crate::labels;
use crate::source::SourceError;
use crate::source::{Claimed, Finish, Task};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// A claim written for a task, before it is decided.
pub(super) struct Ahead {
    pub(super) task: Task,
    pub(super) claim: Claim,
    pub(super) claimed: Claimed,
    /// The outbox entry that takes the claim back after a crash, until it is decided.
    pub(super) guard: Option<i64>,
}

impl Ahead {
    /// Taking the claim back, when it was written.
    pub(super) fn withdraw(self) -> Option<Finish> {
        match self.claimed {
            Claimed::Pending(p) => Some(Finish::withdraw(&p.task_id, None, &p.note_id, Vec::new())),
            Claimed::Won { note_id } => Some(Finish::withdraw(
                &self.task.id,
                Some(labels::released(&labels::claimed(&self.task.labels))),
                &note_id,
                Vec::new(),
            )),
            Claimed::Lost { withdraw, .. } => withdraw,
        }
    }
}

/// A won claim.
pub(super) struct Won {
    pub(super) note_id: String,
    pub(super) posted_at: Option<DateTime<Utc>>,
    pub(super) known: HashSet<String>,
}

/// What one cycle carries from one task to the next.
#[derive(Default)]
pub(super) struct Carry {
    /// Tasks already claimed (or waiting for an earlier end to land) in this cycle.
    pub(super) tried: HashSet<String>,
    /// Writes that ride along with the next request (outbox id, write).
    pub(super) unsent: Vec<(i64, Finish)>,
    /// The next task, claimed while the current one settled.
    pub(super) ahead: Option<Ahead>,
}

impl Worker {
    /// The claim this machine writes for `task`.
    pub(super) fn claim_for(&self, shared: &Shared, task: &Task) -> Claim {
        Claim {
            id: claims::new_claim_id(),
            machine: shared.machine.clone(),
            attempt: labels::failures(&task.labels) + 1,
            max_attempts: self.employee.max_attempts,
            // From its `posted_at`: the run starts once the claim settled, and then has its
            // whole timeout (and the grace) before anyone may take the task over.
            lease_secs: Some(
                pick::default_lease(&self.employee, shared.claim_grace_secs)
                    .saturating_add(self.source.settle_secs()),
            ),
            due: task.due.clone(),
        }
    }

    /// Claims `task`, with the carried ends riding along (and, with `not_before`, as the
    /// read that settles an earlier claim). Until the claim is decided, taking it back is in
    /// the outbox, so a crash in between does not leave it standing.
    pub(super) async fn claim(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        task: Task,
        not_before: Option<DateTime<Utc>>,
        dead: &HashSet<String>,
    ) -> Result<Ahead, WorkerError> {
        let claim = self.claim_for(shared, &task);
        let lease = pick::default_lease(&self.employee, shared.claim_grace_secs);
        carry.tried.insert(task.id.clone());
        let riding = std::mem::take(&mut carry.unsent);
        let finishes: Vec<Finish> = riding.iter().map(|(_, f)| f.clone()).collect();
        let result = self
            .source
            .claim(&task.id, &claim, &finishes, not_before, lease, dead)
            .await;
        self.delivered(shared, riding, result.as_ref().err())?;
        let claimed = result?;
        let guard = match &claimed {
            Claimed::Pending(p) => Some(shared.history.outbox_add(
                &self.employee.name,
                &Finish::withdraw(&task.id, None, &p.note_id, Vec::new()),
            )?),
            _ => None,
        };
        Ok(Ahead {
            task,
            claim,
            claimed,
            guard,
        })
    }

    /// Another machine's claim came first: nothing ran; taking ours back rides along with
    /// the next request (its outbox entry keeps it safe until then).
    pub(super) fn lost(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        task: &Task,
        machine: &str,
        withdraw: Option<Finish>,
        guard: Option<i64>,
    ) -> Result<(), WorkerError> {
        tracing::info!(employee = %self.employee.name, task = %task.id, %machine, "another machine claimed the task first; left to it");
        shared.contend(&self.employee.name);
        match (withdraw, guard) {
            (Some(w), Some(id)) => carry.unsent.push((id, w)),
            (Some(w), None) => self.keep(shared, carry, w)?,
            (None, Some(id)) => shared.history.outbox_done(id)?,
            (None, None) => {}
        }
        Ok(())
    }

    /// Puts a write in the outbox and carries it to the next request.
    pub(super) fn keep(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        f: Finish,
    ) -> Result<(), WorkerError> {
        let id = shared.history.outbox_add(&self.employee.name, &f)?;
        carry.unsent.push((id, f));
        Ok(())
    }

    /// Settles the outbox entries of writes that rode along with a request.
    pub(super) fn delivered(
        &self,
        shared: &Shared,
        riding: Vec<(i64, Finish)>,
        error: Option<&SourceError>,
    ) -> Result<(), WorkerError> {
        for (id, _) in riding {
            match error {
                None => shared.history.outbox_done(id)?,
                Some(e) => shared.history.outbox_failed(id, &e.to_string())?,
            }
        }
        Ok(())
    }

    /// Sends what is still carried, in one request.
    pub(super) async fn send_carried(
        &self,
        shared: &Shared,
        carry: &mut Carry,
    ) -> Result<(), WorkerError> {
        let riding = std::mem::take(&mut carry.unsent);
        if riding.is_empty() {
            return Ok(());
        }
        let finishes: Vec<Finish> = riding.iter().map(|(_, f)| f.clone()).collect();
        let result = self.source.send(&finishes).await;
        let gone = result.as_ref().err().is_some_and(crate::source::is_gone);
        if gone {
            // A task deleted meanwhile can never take the write.
            self.delivered(shared, riding, None)?;
            return Ok(());
        }
        self.delivered(shared, riding, result.as_ref().err())?;
        if let Err(err) = result {
            self.problem(
                shared,
                ProblemKind::of_source(&err),
                format!(
                    "a finished run could not be reported on its task yet ({err}); Delegate sends it again at the next poll"
                ),
            );
            return Err(err.into());
        }
        Ok(())
    }

    /// Sends the writes earlier runs could not deliver (same ids, so never twice). Returns
    /// the tasks whose end has still not landed: they are left alone until it has.
    pub(super) async fn flush_outbox(
        &self,
        shared: &Shared,
    ) -> Result<HashSet<String>, WorkerError> {
        let mut pending = HashSet::new();
        let mut reachable = true;
        for (id, f) in shared.history.outbox(&self.employee.name)? {
            if !reachable {
                pending.insert(f.task_id);
                continue;
            }
            match self.source.send(std::slice::from_ref(&f)).await {
                Ok(()) => shared.history.outbox_done(id)?,
                Err(e) if crate::source::is_gone(&e) => {
                    tracing::warn!(task = %f.task_id, error = %e, "the task is gone; dropping its pending update");
                    shared.history.outbox_done(id)?;
                }
                Err(e) => {
                    shared.history.outbox_failed(id, &e.to_string())?;
                    self.problem(
                        shared,
                        ProblemKind::of_source(&e),
                        format!("a finished run could not be reported on its task yet: {e}"),
                    );
                    pending.insert(f.task_id);
                    reachable = false;
                }
            }
        }
        Ok(pending)
    }
}
