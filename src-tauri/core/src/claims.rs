//! The claim protocol that lets any number of machines share one task source, with each task
//! run once. It lives in the comments of the task, so every machine reads the same record:
//!
//! - A claim is a comment `Working on it… (attempt k of N) on <machine>` with a second line
//!   `claim <id> · lease <s> s · due <date>`: a unique claim id, how long the claim holds
//!   from its own `posted_at` (the claimer's timeout plus a grace period), and the due date of
//!   the occurrence being worked (recurring tasks).
//! - A claim ends at the next end comment (`Done.`, `Failed…`, `Stopped:`) or when its lease
//!   runs out. A long run renews its lease by replacing its claim comment with a fresh one.
//! - The claim request also reads every change since the claimer's snapshot. Among the claims
//!   it then sees, the earliest wins — counting every live claim, and every claim the claimer
//!   did not know of when it decided (another machine claimed, or even finished, meanwhile).
//!   A loser deletes its claim comment and does not run.

use crate::source::Comment;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// How long past its timeout a claim stays valid by default, so a slow finish is not taken
/// over.
pub const DEFAULT_GRACE_SECS: u64 = 120;

/// How long after a claim's own `posted_at` a read decides it, by default. Todoist stamps a
/// comment when the write arrives but does not promise to show it to other clients at once
/// or in stamp order; a busy server or a replica can show it seconds later. Five seconds
/// covers a lag of a few seconds (the read's time is also counted two seconds early, for
/// clock differences) at the cost of starting each agent about seven seconds after its claim.
pub const DEFAULT_SETTLE_SECS: u64 = 5;

const CLAIM_HEAD: &str = "Working on it… (attempt ";
const MAX_LEASE_SECS: u64 = 10 * 365 * 86_400;
const DONE_HEAD: &str = "Done. Ready for review.";
/// The first words of a run's questions to the person.
pub const ASKED_HEAD: &str = "Needs your answer.";
/// The first words of a comment that only carries another file of a run's end.
pub const ATTACHED_HEAD: &str = "📎 Attached:";
/// The first words of a run that found nothing to do.
pub const NOTHING_HEAD: &str = "Nothing to do this time.";
/// How a comment with a file and no words reads in a prompt.
const FILE_ONLY: &str = "(a file, without words: see the files the person attached)";
/// How much of the conversation a fresh run's prompt carries, at most.
const THREAD_CHARS: usize = 12_000;
/// How much of one earlier comment a fresh run's prompt carries, at most.
const TURN_CHARS: usize = 3_000;
/// How much of a failure's reason a retry's prompt carries.
const FAILURE_CHARS: usize = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Unique per claim; also the marker in the agent's environment.
    pub id: String,
    pub machine: String,
    pub attempt: u32,
    pub max_attempts: u32,
    /// From `posted_at`; `None` for a claim written by an older worker (the reader's own
    /// timeout and grace apply).
    pub lease_secs: Option<u64>,
    /// The due date of the occurrence the claim is for.
    pub due: Option<String>,
}

impl Claim {
    /// The comment text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{CLAIM_HEAD}{} of {}) on {}\n\nclaim {}",
            self.attempt, self.max_attempts, self.machine, self.id
        );
        if let Some(l) = self.lease_secs {
            s.push_str(&format!(" · lease {l} s"));
        }
        if let Some(d) = &self.due {
            s.push_str(&format!(" · due {d}"));
        }
        s
    }

    /// Reads a claim comment (also the plain first line older workers write).
    pub fn parse(content: &str) -> Option<Claim> {
        let mut lines = content.lines();
        let head = lines.next()?.strip_prefix(CLAIM_HEAD)?;
        let (counts, rest) = head.split_once(')')?;
        let (attempt, max) = counts.split_once(" of ")?;
        let machine = rest
            .trim()
            .strip_prefix("on ")
            .unwrap_or("")
            .trim()
            .to_string();
        let mut claim = Claim {
            id: String::new(),
            machine,
            attempt: attempt.trim().parse().ok()?,
            max_attempts: max.trim().parse().ok()?,
            lease_secs: None,
            due: None,
        };
        if let Some(meta) = lines.map(str::trim).find(|l| l.starts_with("claim ")) {
            for part in meta.split(" · ") {
                let (key, value) = part.split_once(' ').unwrap_or((part, ""));
                let value = value.trim();
                match key {
                    "claim" => claim.id = value.to_string(),
                    "lease" => claim.lease_secs = value.trim_end_matches(" s").trim().parse().ok(),
                    "due" => claim.due = Some(value.to_string()),
                    _ => {}
                }
            }
        }
        Some(claim)
    }
}

/// What a comment is, as far as the protocol cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Claim(Claim),
    Done,
    /// The agent asked the person (or said what blocks it) and stopped.
    Asked,
    /// The agent found nothing to do.
    Nothing,
    Failed,
    Stopped,
    Progress,
    /// A comment that only carries a file of a run's end (a draft attached).
    Attached,
    /// A person's comment.
    Other,
}

impl Mark {
    pub fn of(content: &str) -> Mark {
        if let Some(c) = Claim::parse(content) {
            Mark::Claim(c)
        } else if content.starts_with(DONE_HEAD) {
            Mark::Done
        } else if content.starts_with(ASKED_HEAD) {
            Mark::Asked
        } else if content.starts_with(NOTHING_HEAD) {
            Mark::Nothing
        } else if content.starts_with("Failed (attempt ") || content.starts_with("Failed after ") {
            Mark::Failed
        } else if content.starts_with("Stopped:") {
            Mark::Stopped
        } else if content.starts_with("Progress:\n") || content == "Progress:" {
            Mark::Progress
        } else if content.starts_with(ATTACHED_HEAD) {
            Mark::Attached
        } else {
            Mark::Other
        }
    }

    fn ends_claims(&self) -> bool {
        matches!(
            self,
            Mark::Done | Mark::Asked | Mark::Nothing | Mark::Failed | Mark::Stopped
        )
    }

    /// The agent's last word to the person: a result to review, questions, or nothing to do.
    fn speaks(&self) -> bool {
        matches!(self, Mark::Done | Mark::Asked | Mark::Nothing)
    }
}

/// A claim as read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenClaim {
    pub note_id: String,
    pub posted_at: Option<DateTime<Utc>>,
    pub claim: Claim,
    /// An end comment came after it.
    pub ended: bool,
    /// The first end comment after it.
    pub ended_by: Option<String>,
}

impl SeenClaim {
    /// Holds at `now`: not ended, not one of `dead` (this machine's own interrupted runs),
    /// and its lease has not run out.
    pub fn live(&self, now: DateTime<Utc>, default_lease: u64, dead: &HashSet<String>) -> bool {
        if self.ended || (!self.claim.id.is_empty() && dead.contains(&self.claim.id)) {
            return false;
        }
        // Capped (ten years), so an absurd lease in a comment cannot overflow the clock.
        let lease = self
            .claim
            .lease_secs
            .unwrap_or(default_lease)
            .min(MAX_LEASE_SECS);
        let lease = Duration::seconds(lease as i64);
        self.posted_at.is_none_or(|t| t + lease > now)
    }
}

/// How a claim request came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Won,
    /// Another machine's claim came first. `ended_by` is the comment that ended it, when
    /// that machine already finished (its labels are the ones to keep).
    Lost {
        machine: String,
        ended_by: Option<String>,
    },
}

/// What an unanswered end of a run waits for (see [`Log::awaiting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// A result (or "nothing to do") to review.
    Review,
    /// Questions to answer.
    Answer,
}

/// A task's comments in the order they were posted, read for the protocol.
pub struct Log {
    entries: Vec<(Comment, Mark)>,
}

impl Log {
    pub fn new(mut comments: Vec<Comment>) -> Self {
        // Stable: comments with the same time keep the source's order.
        comments.sort_by_key(|c| c.posted_at);
        Self {
            entries: comments
                .into_iter()
                .map(|c| {
                    let m = Mark::of(&c.content);
                    (c, m)
                })
                .collect(),
        }
    }

    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.entries.iter().map(|(c, _)| c)
    }

    pub fn claims(&self) -> Vec<SeenClaim> {
        let mut out = Vec::new();
        for (i, (c, m)) in self.entries.iter().enumerate() {
            if let Mark::Claim(claim) = m {
                let ended_by = self.entries[i + 1..]
                    .iter()
                    .find(|(_, m)| m.ends_claims())
                    .map(|(c, _)| c.content.clone());
                out.push(SeenClaim {
                    note_id: c.id.clone(),
                    posted_at: c.posted_at,
                    claim: claim.clone(),
                    ended: ended_by.is_some(),
                    ended_by,
                });
            }
        }
        out
    }

    /// The newest claim, whatever its state.
    pub fn last_claim(&self) -> Option<Claim> {
        self.entries.iter().rev().find_map(|(_, m)| match m {
            Mark::Claim(c) => Some(c.clone()),
            _ => None,
        })
    }

    /// A claim that holds now, if any.
    pub fn live_claim(
        &self,
        now: DateTime<Utc>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<SeenClaim> {
        self.claims()
            .into_iter()
            .find(|c| c.live(now, default_lease, dead))
    }

    /// When the last attempt failed (its failure comment).
    pub fn last_failure_at(&self) -> Option<DateTime<Utc>> {
        self.entries
            .iter()
            .rev()
            .find(|(_, m)| *m == Mark::Failed)
            .and_then(|(c, _)| c.posted_at)
    }

    /// Who won the claim `ours` (the comment `note_id` just posted). `known` holds the note
    /// ids the claimer had seen when it decided to claim.
    pub fn verdict(
        &self,
        ours: &str,
        known: &HashSet<String>,
        now: DateTime<Utc>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Verdict {
        let mut rivals: Vec<SeenClaim> = self
            .claims()
            .into_iter()
            .filter(|c| {
                c.claim.id == ours
                    || c.live(now, default_lease, dead)
                    || !known.contains(&c.note_id)
            })
            .collect();
        rivals.sort_by(|a, b| (a.posted_at, &a.claim.id).cmp(&(b.posted_at, &b.claim.id)));
        match rivals.first() {
            Some(first) if first.claim.id != ours => Verdict::Lost {
                machine: first.claim.machine.clone(),
                ended_by: first.ended_by.clone(),
            },
            _ => Verdict::Won,
        }
    }

    /// What the person said since the agent's last word on the task (its result, its
    /// questions, its "nothing to do"): their answer or their feedback, which the next run
    /// continues from. `None` when they said nothing since. For a recurring task only a
    /// conversation about the current occurrence (`due`) counts.
    pub fn reply(&self, due: Option<&str>, recurring: bool) -> Option<Reply> {
        let last = self.entries.iter().rposition(|(_, m)| m.speaks())?;
        let claimed_at = self.entries[..last]
            .iter()
            .rposition(|(_, m)| matches!(m, Mark::Claim(_)));
        let claim = claimed_at.and_then(|i| match &self.entries[i].1 {
            Mark::Claim(c) => Some(c.clone()),
            _ => None,
        });
        if recurring && claim.as_ref().and_then(|c| c.due.as_deref()) != due {
            return None;
        }
        // What the person wrote while that run worked (it never saw it), and since.
        let from = claimed_at.map_or(last + 1, |i| i + 1);
        // A comment with no words carries a file (the files are listed in the prompt).
        let texts: Vec<String> = self.entries[from..]
            .iter()
            .filter(|(_, m)| *m == Mark::Other)
            .map(|(c, _)| match c.content.trim() {
                "" => FILE_ONLY.to_string(),
                text => text.to_string(),
            })
            .collect();
        if texts.is_empty() {
            return None;
        }
        Some(Reply {
            to: match self.entries[last].1 {
                Mark::Asked => ReplyTo::Questions,
                _ => ReplyTo::Result,
            },
            texts,
            claim_id: claim.map(|c| c.id).filter(|id| !id.is_empty()),
        })
    }

    /// The agent's last word on the task that the person has not answered (a result to
    /// review, questions, "nothing to do"): the task waits for them, whatever its labels
    /// say. Labels are read apart from the comments (another request, and a service may show
    /// a label change late), so labels read before a run's end may still invite work while
    /// the comments already show the end; taking the task then would run it twice. `None`
    /// once the person commented since, when a claim came after that end, or, for a
    /// recurring task, when the end was about an earlier occurrence.
    pub fn awaiting(&self, due: Option<&str>, recurring: bool) -> Option<Awaiting> {
        let end = self.entries.iter().rposition(|(_, m)| m.ends_claims())?;
        let awaiting = match self.entries[end].1 {
            Mark::Done | Mark::Nothing => Awaiting::Review,
            Mark::Asked => Awaiting::Answer,
            _ => return None,
        };
        if self.entries[end + 1..]
            .iter()
            .any(|(_, m)| matches!(m, Mark::Claim(_)))
        {
            return None;
        }
        if recurring {
            let claimed_for = self.entries[..end]
                .iter()
                .rev()
                .find_map(|(_, m)| match m {
                    Mark::Claim(c) => Some(c.due.as_deref()),
                    _ => None,
                })?;
            if claimed_for != due {
                return None;
            }
        }
        self.reply(due, recurring).is_none().then_some(awaiting)
    }

    /// Whether the latest end on the task is Delegate's "nothing to do" (a recurring check
    /// that completed its occurrence itself).
    pub fn ended_with_nothing(&self) -> bool {
        self.entries
            .iter()
            .rev()
            .find(|(_, m)| m.ends_claims())
            .is_some_and(|(_, m)| *m == Mark::Nothing)
    }

    /// The ids of the person's comments (not the protocol's), for the files on them.
    pub fn person_comments(&self) -> HashSet<String> {
        self.entries
            .iter()
            .filter(|(_, m)| *m == Mark::Other)
            .map(|(c, _)| c.id.clone())
            .collect()
    }

    /// The conversation so far, oldest first, for a run that cannot resume the agent's
    /// session: the agent's results and questions and the person's words, each cut short,
    /// the oldest left out first to stay within [`THREAD_CHARS`]. For a recurring task,
    /// only the current occurrence's.
    pub fn thread(&self, due: Option<&str>, recurring: bool) -> Vec<(Speaker, String)> {
        let start = if recurring {
            let first = self
                .entries
                .iter()
                .position(|(_, m)| matches!(m, Mark::Claim(c) if c.due.as_deref() == due));
            match first {
                Some(i) => i,
                None => return Vec::new(),
            }
        } else {
            0
        };
        let mut out: Vec<(Speaker, String)> = self.entries[start..]
            .iter()
            .filter_map(|(c, m)| {
                let text = c.content.trim();
                let who = match m {
                    Mark::Done | Mark::Asked | Mark::Nothing => Speaker::Agent,
                    Mark::Other if !text.is_empty() => Speaker::Person,
                    _ => return None,
                };
                Some((who, crate::agent::truncate(text, TURN_CHARS)))
            })
            .collect();
        let mut total = 0;
        let mut from = out.len();
        while from > 0 {
            let n = out[from - 1].1.chars().count();
            if total + n > THREAD_CHARS {
                break;
            }
            total += n;
            from -= 1;
        }
        out.split_off(from)
    }

    /// Why the last attempt failed, when the task's latest end is a failure (so this run is
    /// a retry): the reason its "Failed" comment gave, cut short, for the retry's prompt.
    pub fn last_failure(&self) -> Option<String> {
        let (comment, mark) = self.entries.iter().rev().find(|(_, m)| m.ends_claims())?;
        if *mark != Mark::Failed {
            return None;
        }
        let reason = comment
            .content
            .lines()
            .find_map(|l| l.strip_prefix("Reason: "))?
            .trim();
        (!reason.is_empty()).then(|| crate::agent::truncate(reason, FAILURE_CHARS))
    }

    /// A recurring task that was worked for an earlier occurrence and has moved on to
    /// another due date since (the person completed it; Todoist kept the labels).
    pub fn is_new_occurrence(&self, due: Option<&str>) -> bool {
        self.last_claim()
            .is_some_and(|c| c.due.is_some() && c.due.as_deref() != due)
    }
}

/// Who said something in a task's conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Agent,
    Person,
}

/// What the person's reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    /// The agent's questions.
    Questions,
    /// The agent's result: feedback on its drafts.
    Result,
}

/// The person's words since the agent's last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub to: ReplyTo,
    /// Their comments, oldest first.
    pub texts: Vec<String>,
    /// The claim of the run that spoke last: its agent session is the one to resume.
    pub claim_id: Option<String>,
}

/// A new claim id: short, random, unique enough to tell claims apart forever.
pub fn new_claim_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, secs_ago: i64, content: &str) -> Comment {
        Comment {
            id: id.into(),
            content: content.into(),
            posted_at: Some(Utc::now() - Duration::seconds(secs_ago)),
        }
    }

    fn claim(id: &str, machine: &str, lease: u64) -> String {
        Claim {
            id: id.into(),
            machine: machine.into(),
            attempt: 1,
            max_attempts: 3,
            lease_secs: Some(lease),
            due: Some("2026-11-30".into()),
        }
        .text()
    }

    #[test]
    fn claims_round_trip_and_old_claims_are_read() {
        let text = claim("abc", "laptop", 420);
        assert!(text.starts_with("Working on it… (attempt 1 of 3) on laptop\n\nclaim abc"));
        let back = Claim::parse(&text).unwrap();
        assert_eq!(back.id, "abc");
        assert_eq!(back.machine, "laptop");
        assert_eq!(back.lease_secs, Some(420));
        assert_eq!(back.due.as_deref(), Some("2026-11-30"));
        let old = Claim::parse("Working on it… (attempt 2 of 3) on pi").unwrap();
        assert_eq!(
            (old.attempt, old.id.as_str(), old.lease_secs),
            (2, "", None)
        );
        assert_eq!(Mark::of("Make it shorter"), Mark::Other);
        // A person's words that begin like the protocol's are still the person's.
        assert_eq!(
            Mark::of("Failed logins are expected; use staging"),
            Mark::Other
        );
        assert_eq!(Mark::of("Progress: looks good so far"), Mark::Other);
        assert_eq!(
            Mark::of("Failed (attempt 1 of 3). Will retry."),
            Mark::Failed
        );
    }

    #[test]
    fn the_earliest_claim_wins_and_unknown_ones_count() {
        let now = Utc::now();
        let log = Log::new(vec![
            c("1", 5, &claim("a", "A", 600)),
            c("2", 1, &claim("b", "B", 600)),
        ]);
        let known: HashSet<String> = HashSet::new();
        let none = HashSet::new();
        assert_eq!(log.verdict("a", &known, now, 600, &none), Verdict::Won);
        assert_eq!(
            log.verdict("b", &known, now, 600, &none),
            Verdict::Lost {
                machine: "A".into(),
                ended_by: None
            }
        );
        // A's claim finished before B's claim landed, and B did not know: B still loses.
        let log = Log::new(vec![
            c("1", 9, &claim("a", "A", 600)),
            c("2", 5, "Done. Ready for review."),
            c("3", 1, &claim("b", "B", 600)),
        ]);
        assert_eq!(
            log.verdict("b", &known, now, 600, &none),
            Verdict::Lost {
                machine: "A".into(),
                ended_by: Some("Done. Ready for review.".into())
            }
        );
        // Known and finished: a rework claim wins.
        let known: HashSet<String> = ["1", "2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(log.verdict("b", &known, now, 600, &none), Verdict::Won);
    }

    #[test]
    fn leases_run_out_and_dead_claims_do_not_hold() {
        let now = Utc::now();
        let log = Log::new(vec![c("1", 100, &claim("a", "A", 60))]);
        let none = HashSet::new();
        assert!(log.live_claim(now, 600, &none).is_none(), "lease ran out");
        let log = Log::new(vec![c("1", 10, &claim("a", "A", 60))]);
        assert!(log.live_claim(now, 600, &none).is_some());
        let absurd = Log::new(vec![c("1", 10, &claim("a", "A", u64::MAX))]);
        assert!(
            absurd.live_claim(now, u64::MAX, &none).is_some(),
            "no overflow"
        );
        let dead: HashSet<String> = ["a".to_string()].into();
        assert!(log.live_claim(now, 600, &dead).is_none());
        let known: HashSet<String> = ["1".to_string()].into();
        let log = Log::new(vec![
            c("1", 100, &claim("a", "A", 60)),
            c("2", 1, &claim("b", "B", 60)),
        ]);
        assert_eq!(
            log.verdict("b", &known, now, 600, &none),
            Verdict::Won,
            "stale claim taken over"
        );
        // Our own interrupted claim does not beat our new one.
        let log = Log::new(vec![
            c("1", 10, &claim("a", "A", 600)),
            c("2", 1, &claim("b", "A", 600)),
        ]);
        assert_eq!(log.verdict("b", &known, now, 600, &dead), Verdict::Won);
    }

    #[test]
    fn a_retry_knows_why_the_last_attempt_failed() {
        let failed = "Failed (attempt 1 of 3). Will retry.\n\nReason: the agent reached its turn limit\n\nEnd of the agent's error output:\n```\nboom\n```";
        let log = Log::new(vec![
            c("1", 10, &claim("a", "A", 60)),
            c("2", 9, failed),
            c("3", 8, "a person's note"),
        ]);
        assert_eq!(
            log.last_failure().as_deref(),
            Some("the agent reached its turn limit")
        );
        // Once a later run ended otherwise, the failure is history.
        let log = Log::new(vec![
            c("1", 10, &claim("a", "A", 60)),
            c("2", 9, failed),
            c("3", 8, &claim("b", "A", 60)),
            c("4", 7, "Done. Ready for review."),
        ]);
        assert_eq!(log.last_failure(), None);
        assert_eq!(Log::new(vec![c("1", 10, "hello")]).last_failure(), None);
    }

    #[test]
    fn a_reply_belongs_to_its_occurrence_and_to_the_agents_last_word() {
        let log = Log::new(vec![
            c("0", 20, "early note"),
            c("1", 10, &claim("a", "A", 60)),
            c("2", 9, "Done. Ready for review.\n\nold"),
            c("3", 8, "Make it shorter"),
            c("4", 7, "Progress:\n• x"),
            c("5", 6, "And punchier"),
        ]);
        let r = log.reply(Some("2026-11-30"), true).unwrap();
        assert_eq!(r.texts, ["Make it shorter", "And punchier"]);
        assert_eq!(r.to, ReplyTo::Result);
        assert_eq!(r.claim_id.as_deref(), Some("a"));
        assert_eq!(log.reply(Some("2026-11-30"), false).unwrap().texts.len(), 2);
        assert!(log.reply(Some("2026-12-07"), true).is_none());
        assert!(log.is_new_occurrence(Some("2026-12-07")));
        assert!(!log.is_new_occurrence(Some("2026-11-30")));
        // The thread: the agent's words and the person's, the protocol's own left out.
        let thread = log.thread(Some("2026-11-30"), false);
        let who: Vec<Speaker> = thread.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            who,
            [
                Speaker::Person,
                Speaker::Agent,
                Speaker::Person,
                Speaker::Person
            ]
        );
        // A recurring task's thread starts at its occurrence's first claim.
        assert_eq!(log.thread(Some("2026-11-30"), true).len(), 3);
        assert!(log.thread(Some("2026-12-07"), true).is_empty());
    }

    #[test]
    fn questions_wait_for_an_answer_and_end_the_claim() {
        let asked = "Needs your answer. Reply in a comment: the agent continues where it stopped.\n\n1. Which quote?";
        let mut comments = vec![c("1", 10, &claim("a", "A", 600)), c("2", 9, asked)];
        let log = Log::new(comments.clone());
        assert!(log.reply(None, false).is_none());
        assert!(log.claims()[0].ended, "a question ends the run's claim");
        comments.push(c("3", 5, "Use Ada's quote from the call."));
        let r = Log::new(comments.clone()).reply(None, false).unwrap();
        assert_eq!(r.to, ReplyTo::Questions);
        assert_eq!(r.texts, ["Use Ada's quote from the call."]);
        // Answered and worked on: the next word is the agent's, nothing waits.
        comments.push(c("4", 4, &claim("b", "A", 600)));
        comments.push(c("5", 1, "Done. Ready for review."));
        assert!(Log::new(comments.clone()).reply(None, false).is_none());
        // A file with no words is a reply too.
        let mut with_file = comments.clone();
        with_file.push(c("6", 0, ""));
        let r = Log::new(with_file).reply(None, false).unwrap();
        assert_eq!(r.texts, [FILE_ONLY]);
        // Written while that run worked: it never saw it, so it is still to answer.
        comments.insert(4, c("4b", 3, "Also mention the price after all."));
        let r = Log::new(comments).reply(None, false).unwrap();
        assert_eq!(r.texts, ["Also mention the price after all."]);
        assert_eq!(r.to, ReplyTo::Result);
        assert_eq!(r.claim_id.as_deref(), Some("b"));
    }

    #[test]
    fn a_long_thread_keeps_its_latest_turns() {
        let mut comments = vec![c("0", 1000, &claim("a", "A", 600))];
        for i in 0..40 {
            comments.push(c(&format!("p{i}"), 900 - i * 10, &"words ".repeat(200)));
        }
        let thread = Log::new(comments).thread(None, false);
        let total: usize = thread.iter().map(|(_, t)| t.chars().count()).sum();
        assert!(
            total <= THREAD_CHARS && thread.len() < 40,
            "{}",
            thread.len()
        );
    }
}
