//! The fake's world (users, tokens, repositories, issues, labels, comments) and the state
//! of its bad days, behind one mutex.

use super::{Counters, FakeIssue, Recorded};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

pub(crate) struct Token {
    pub secret: String,
    pub login: String,
    /// A fine-grained token without write permission on issues: writes answer 403.
    pub read_only: bool,
    /// Repositories (lower-case `owner/name`) this token cannot see.
    pub hidden: HashSet<String>,
}

pub(crate) struct User {
    pub login: String,
    pub id: u64,
    pub name: String,
    pub created_at: String,
}

pub(crate) struct Label {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
    pub default: bool,
}

pub(crate) struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub state_reason: Option<String>,
    pub author: String,
    pub pull_request: bool,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub deleted: bool,
    /// Every label set the issue had, with when readers see it (in write order): a read
    /// shows the newest one already visible, a write builds on the newest one.
    pub label_log: Vec<(Instant, Vec<String>)>,
}

impl Issue {
    pub fn labels(&self) -> Vec<String> {
        self.label_log
            .last()
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
    pub fn visible_labels(&self, now: Instant) -> Vec<String> {
        self.label_log
            .iter()
            .rev()
            .find(|(at, _)| *at <= now)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
}

pub(crate) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub created_at: String,
    pub labels: Vec<Label>,
    pub issues: Vec<Issue>,
    pub next_number: u64,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
    pub fn key(&self) -> String {
        self.full_name().to_lowercase()
    }
    /// A repository label by name (GitHub compares label names without case).
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
    }
    pub fn issue(&self, number: u64) -> Option<&Issue> {
        self.issues.iter().find(|i| i.number == number)
    }
    pub fn issue_mut(&mut self, number: u64) -> Option<&mut Issue> {
        self.issues.iter_mut().find(|i| i.number == number)
    }
}

pub(crate) struct StoredComment {
    pub id: u64,
    pub repo_id: u64,
    pub issue_number: u64,
    pub body: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub visible_at: Instant,
}

/// Writes whose body (or path) contains `text`: every `every`-th one is shown to readers
/// only `delay` after it was applied and stamped.
pub(crate) struct LagRule {
    pub text: String,
    pub every: usize,
    pub delay: Duration,
    pub seen: usize,
}

/// A primary rate limit window of one user.
#[derive(Clone, Copy)]
pub(crate) struct Bucket {
    pub used: u32,
    pub resets: Instant,
}

pub(crate) struct SecondaryNext {
    pub writes: usize,
    pub status: u16,
    pub retry_after: Option<u64>,
}

pub(crate) struct Burst {
    pub max_writes: usize,
    pub within: Duration,
    pub status: u16,
    pub retry_after: Duration,
}

pub(crate) struct FakeState {
    pub base: String,
    pub tokens: Vec<Token>,
    pub users: Vec<User>,
    pub repos: Vec<Repo>,
    pub comments: Vec<StoredComment>,
    pub requests: Vec<Recorded>,
    pub counters: Counters,
    pub next_id: u64,
    // Bad days.
    pub latency: Duration,
    pub failures: VecDeque<u16>,
    pub late: VecDeque<Duration>,
    pub late_matching: Vec<(String, usize, Duration)>,
    pub lag_rules: Vec<LagRule>,
    pub skew_ms: i64,
    pub rate_limit: u32,
    pub rate_window: Duration,
    pub rate_status: u16,
    pub buckets: HashMap<String, Bucket>,
    pub anonymous: Bucket,
    pub secondary_next: Option<SecondaryNext>,
    pub burst: Option<Burst>,
    pub recent_writes: VecDeque<Instant>,
    pub blocked_until: Option<(Instant, u16)>,
}

/// The anonymous limit (per address, for requests without a good token).
pub(crate) const ANONYMOUS_LIMIT: u32 = 60;

impl FakeState {
    pub(super) fn new(token: &str) -> Self {
        let now = Instant::now();
        let mut s = Self {
            base: String::new(),
            tokens: Vec::new(),
            users: Vec::new(),
            repos: Vec::new(),
            comments: Vec::new(),
            requests: Vec::new(),
            counters: Counters::default(),
            next_id: 0,
            latency: Duration::ZERO,
            failures: VecDeque::new(),
            late: VecDeque::new(),
            late_matching: Vec::new(),
            lag_rules: Vec::new(),
            skew_ms: 0,
            rate_limit: 5000,
            rate_window: Duration::from_secs(3600),
            rate_status: 403,
            buckets: HashMap::new(),
            anonymous: Bucket {
                used: 0,
                resets: now + Duration::from_secs(3600),
            },
            secondary_next: None,
            burst: None,
            recent_writes: VecDeque::new(),
            blocked_until: None,
        };
        s.add_token(token, "delegate-bot");
        s
    }

    /// The server's clock (the real one plus the skew).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::milliseconds(self.skew_ms)
    }

    /// A timestamp as GitHub writes them: whole seconds, `Z`.
    pub fn stamp(&self) -> String {
        self.now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Ids grow from a base of their kind: issues above 2^31 (as GitHub's are now),
    /// comments and labels above 2^32 (where GitHub's comment ids are heading), so a
    /// client that keeps them in 32 bits breaks here first.
    pub fn id(&mut self, base: u64) -> u64 {
        self.next_id += 1;
        base + self.next_id * 17
    }

    pub(super) fn add_token(&mut self, token: &str, login: &str) {
        if !self.users.iter().any(|u| u.login == login) {
            let id = 1000 + self.users.len() as u64 * 7 + 1;
            let created_at = self.stamp();
            self.users.push(User {
                login: login.to_string(),
                id,
                name: format!("{login} (fake)"),
                created_at,
            });
        }
        self.tokens.retain(|t| t.secret != token);
        self.tokens.push(Token {
            secret: token.to_string(),
            login: login.to_string(),
            read_only: false,
            hidden: HashSet::new(),
        });
    }

    pub fn token(&self, secret: &str) -> Option<&Token> {
        self.tokens.iter().find(|t| t.secret == secret)
    }

    pub(super) fn token_mut(&mut self, secret: &str) -> &mut Token {
        self.tokens
            .iter_mut()
            .find(|t| t.secret == secret)
            .unwrap_or_else(|| panic!("no such token"))
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn repo(&self, full_name: &str) -> Option<&Repo> {
        let key = full_name.to_lowercase();
        self.repos.iter().find(|r| r.key() == key)
    }

    pub fn repo_mut(&mut self, full_name: &str) -> Option<&mut Repo> {
        let key = full_name.to_lowercase();
        self.repos.iter_mut().find(|r| r.key() == key)
    }

    /// The label named `name` on the repository, created (as GitHub does when an issue
    /// gets a label the repository lacks) if there is none. Returns its canonical name.
    pub fn ensure_label(&mut self, repo_id: u64, name: &str) -> String {
        let id = self.id(5_000_000_000);
        let Some(repo) = self.repos.iter_mut().find(|r| r.id == repo_id) else {
            return name.to_string();
        };
        if let Some(l) = repo.label(name) {
            return l.name.clone();
        }
        repo.labels.push(Label {
            id,
            name: name.to_string(),
            color: "ededed".into(),
            description: None,
            default: false,
        });
        name.to_string()
    }

    /// Takes one use of the lag rules for a write whose body and path read `text`: how
    /// much later readers see it, if at all.
    pub fn take_lag(&mut self, text: &str) -> Option<Duration> {
        let rule = self
            .lag_rules
            .iter_mut()
            .find(|r| text.contains(r.text.as_str()))?;
        rule.seen += 1;
        (rule.seen % rule.every == 0).then_some(rule.delay)
    }

    /// How many comments of one issue a read shows now.
    pub fn visible_comment_count(&self, repo_id: u64, number: u64, now: Instant) -> usize {
        self.comments
            .iter()
            .filter(|c| c.repo_id == repo_id && c.issue_number == number && c.visible_at <= now)
            .count()
    }

    pub(super) fn add_repo(&mut self, full_name: &str) -> u64 {
        let (owner, name) = full_name
            .split_once('/')
            .unwrap_or_else(|| panic!("a repository is owner/name, not {full_name}"));
        if let Some(r) = self.repo(full_name) {
            return r.id;
        }
        let id = 800_000_000 + self.repos.len() as u64 * 131 + 7;
        let created_at = self.stamp();
        let mut labels = Vec::new();
        for (name, color, description) in DEFAULT_LABELS {
            let lid = self.id(5_000_000_000);
            labels.push(Label {
                id: lid,
                name: name.to_string(),
                color: color.to_string(),
                description: Some(description.to_string()),
                default: true,
            });
        }
        self.repos.push(Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            created_at,
            labels,
            issues: Vec::new(),
            next_number: 1,
        });
        id
    }

    pub(super) fn add_item(
        &mut self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[&str],
        pull_request: bool,
    ) -> u64 {
        let repo_id = self
            .repo(repo)
            .unwrap_or_else(|| panic!("no repository {repo}"))
            .id;
        let names: Vec<String> = labels
            .iter()
            .map(|l| self.ensure_label(repo_id, l))
            .collect();
        let id = self.id(2_500_000_000);
        let at = self.stamp();
        let author = self.users[0].login.clone();
        let Some(r) = self.repos.iter_mut().find(|r| r.id == repo_id) else {
            unreachable!("the repository was just found");
        };
        let number = r.next_number;
        r.next_number += 1;
        r.issues.push(Issue {
            id,
            number,
            title: title.to_string(),
            body: Some(body.to_string()),
            state: "open".into(),
            state_reason: None,
            author,
            pull_request,
            created_at: at.clone(),
            updated_at: at,
            closed_at: None,
            closed_by: None,
            deleted: false,
            label_log: vec![(Instant::now(), names)],
        });
        number
    }

    pub(super) fn fake_issue(&self, repo: &str, number: u64) -> FakeIssue {
        let r = self
            .repo(repo)
            .unwrap_or_else(|| panic!("no repository {repo}"));
        let i = r
            .issue(number)
            .unwrap_or_else(|| panic!("no issue {repo}#{number}"));
        FakeIssue {
            id: i.id,
            number: i.number,
            title: i.title.clone(),
            body: i.body.clone(),
            state: i.state.clone(),
            state_reason: i.state_reason.clone(),
            author: i.author.clone(),
            pull_request: i.pull_request,
            labels: i.labels(),
            visible_labels: i.visible_labels(Instant::now()),
            created_at: i.created_at.clone(),
            updated_at: i.updated_at.clone(),
            closed_at: i.closed_at.clone(),
            closed_by: i.closed_by.clone(),
            deleted: i.deleted,
        }
    }
}

/// The labels a new GitHub repository starts with.
const DEFAULT_LABELS: [(&str, &str, &str); 9] = [
    ("bug", "d73a4a", "Something isn't working"),
    (
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
    ),
    (
        "duplicate",
        "cfd3d7",
        "This issue or pull request already exists",
    ),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
];
