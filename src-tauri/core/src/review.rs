//! The person's side of the loop: approve a run (close the task), request changes (post the
//! feedback and remove `agent-done`, so the next poll reworks the task with it), or answer a
//! run's questions (post the answer: the next poll continues the agent's session with it).

use crate::engine::{Engine, EngineError, ReviewError};
use crate::history::Review;
use crate::labels;

impl Engine {
    async fn source_of_run(
        &self,
        run_id: i64,
    ) -> Result<(crate::history::RunDetail, crate::source::Source), EngineError> {
        let run = self.history().get(run_id)?;
        let config = self.config();
        let employee = config
            .employees
            .iter()
            .find(|e| e.name == run.run.employee)
            .ok_or_else(|| ReviewError::EmployeeGone(run.run.employee.clone()))?;
        let source = self.source_for(employee).await?;
        Ok((run, source))
    }

    /// Closes the run's task: the person accepted the drafts. A recurring task moves to its
    /// next date, so its protocol labels are cleared in the same write: the next occurrence
    /// starts clean.
    pub async fn approve(&self, run_id: i64) -> Result<(), EngineError> {
        let (run, source) = self.source_of_run(run_id).await?;
        let wrap = crate::worker::WorkerError::from;
        let task = source.task(&run.run.task_id).await.map_err(wrap)?;
        let fresh = labels::rework(&task.labels);
        let clear = (task.recurring && fresh != task.labels).then_some(fresh.as_slice());
        source.close(&task.id, clear).await.map_err(wrap)?;
        self.history().set_review(run_id, Review::Approved)?;
        // A poll now, so the board stops counting the task as waiting for review.
        self.run_now();
        Ok(())
    }

    /// Posts `feedback` on the run's task and makes it eligible again (without the protocol
    /// labels), then wakes the workers so the rework starts at once.
    pub async fn request_changes(&self, run_id: i64, feedback: &str) -> Result<(), EngineError> {
        let feedback = feedback.trim();
        if feedback.is_empty() {
            return Err(ReviewError::EmptyFeedback.into());
        }
        let (run, source) = self.source_of_run(run_id).await?;
        let wrap = crate::worker::WorkerError::from;
        let task = source.task(&run.run.task_id).await.map_err(wrap)?;
        source
            .labels_and_comment(&task.id, &labels::rework(&task.labels), feedback)
            .await
            .map_err(wrap)?;
        self.history()
            .set_review(run_id, Review::ChangesRequested)?;
        self.run_now();
        Ok(())
    }

    /// Posts the person's answer to a run's questions on its task, as a comment like one
    /// written on the phone, then wakes the workers: the next poll continues the agent's
    /// session with it.
    pub async fn answer(&self, run_id: i64, answer: &str) -> Result<(), EngineError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(ReviewError::EmptyAnswer.into());
        }
        let (run, source) = self.source_of_run(run_id).await?;
        let wrap = crate::worker::WorkerError::from;
        let task = source.task(&run.run.task_id).await.map_err(wrap)?;
        source
            .labels_and_comment(&task.id, &task.labels, answer)
            .await
            .map_err(wrap)?;
        self.run_now();
        Ok(())
    }
}
