//! What every HTTP task source shares: naming a network failure by its cause, the server's
//! clock read from `Date`, and hints the server gives about when to try again.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// What kind of network failure, because each has its own fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// The host name could not be resolved (offline, DNS, a typo in `api_url`).
    Dns,
    /// Nothing accepted the connection.
    Refused,
    /// The secure connection failed (clock, intercepting proxy, certificate).
    Tls,
    /// No answer in time.
    Timeout,
    Other,
}

impl NetworkKind {
    /// What a person can do about it; `service` names the service, `setting` where its
    /// address is configured.
    pub fn fix(self, service: &str, setting: &str) -> String {
        match self {
            NetworkKind::Dns => format!(
                "check the internet connection (the server name could not be looked up), or {setting}"
            ),
            NetworkKind::Refused => {
                format!("nothing answers at that address: check {setting}, a proxy or a firewall")
            }
            NetworkKind::Tls => "a secure connection could not be made: check the computer's \
                clock and any proxy that intercepts HTTPS"
                .into(),
            NetworkKind::Timeout => format!(
                "{service} did not answer in time: check the connection; Delegate tries again by itself"
            ),
            NetworkKind::Other => {
                "check the internet connection; Delegate tries again by itself".into()
            }
        }
    }
}

/// The kind of a reqwest failure and its message with every cause (reqwest's message can
/// include the URL, which is removed, but never headers, so a token stays out).
pub fn network_failure(e: reqwest::Error) -> (NetworkKind, String) {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    let lower = message.to_lowercase();
    let kind = if e.is_timeout() || lower.contains("timed out") {
        NetworkKind::Timeout
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        NetworkKind::Dns
    } else if lower.contains("refused") {
        NetworkKind::Refused
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        NetworkKind::Tls
    } else {
        NetworkKind::Other
    };
    (kind, message)
}

/// The HTTP client every source uses: `timeout` for each answer, 10 s to connect, Delegate's
/// user agent. Fails (with the kind and message of a network failure) only when the TLS
/// backend cannot start.
pub fn client(timeout: Duration) -> Result<reqwest::Client, (NetworkKind, String)> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Delegate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| (NetworkKind::Other, e.to_string()))
}

/// `Retry-After` in seconds, when it is a sane number.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(crate::source::retry::hint)
}

/// The server's time from `Date` (whole seconds).
pub fn server_date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// A service's clock as this machine can tell it from the `Date` of its answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerClock {
    /// Server minus local; zero when within the rounding of `Date`.
    pub skew: chrono::Duration,
    /// Never more than the real difference (`Date` rounded down, minus when the answer
    /// arrived): local times moved by it are the server's time at most.
    pub safe_skew: chrono::Duration,
    seen: bool,
}

impl ServerClock {
    /// Takes in one answer's `Date`.
    pub fn observe(&mut self, date: Option<DateTime<Utc>>) {
        let Some(server) = date else {
            return;
        };
        let skew = server - Utc::now();
        // Every reading is at most the real difference; the largest is the closest. One far
        // below it means the clocks were changed: start again from it.
        let dropped = self.safe_skew - skew > chrono::Duration::seconds(2);
        if !self.seen || dropped || skew > self.safe_skew {
            self.safe_skew = skew;
        }
        self.skew = if skew.num_seconds().abs() < 2 {
            chrono::Duration::zero()
        } else {
            skew
        };
        self.seen = true;
    }

    /// The server's time now, as well as can be told.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.skew
    }

    /// A time on the server's clock that has surely passed.
    pub fn surely_passed(&self) -> DateTime<Utc> {
        Utc::now() + self.safe_skew
    }

    /// How long this machine waits until the server's clock has surely passed `t`.
    pub fn wait_until(&self, t: DateTime<Utc>) -> Duration {
        (t - self.surely_passed())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_keeps_the_largest_safe_reading_and_restarts_when_set_back() {
        let mut c = ServerClock::default();
        c.observe(Some(Utc::now() + chrono::Duration::seconds(30)));
        assert!(c.safe_skew > chrono::Duration::seconds(28));
        assert!(c.skew > chrono::Duration::seconds(28));
        c.observe(Some(Utc::now() + chrono::Duration::seconds(29)));
        assert!(
            c.safe_skew > chrono::Duration::seconds(29),
            "kept the larger"
        );
        c.observe(Some(Utc::now()));
        assert!(c.safe_skew.num_seconds().abs() <= 1, "set back");
        assert_eq!(c.skew, chrono::Duration::zero());
        assert_eq!(
            c.wait_until(Utc::now() - chrono::Duration::seconds(5)),
            Duration::ZERO
        );
    }
}
