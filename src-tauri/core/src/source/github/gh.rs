//! The GitHub CLI as a place a token may come from: a person logged in with `gh auth login`
//! needs no token of their own.

use crate::secrets::Secret;
use std::time::Duration;

/// How Delegate asks it, and how that origin reads.
pub const TOOL: crate::source::registry::TokenTool = crate::source::registry::TokenTool {
    words: "the GitHub CLI's login (gh auth token)",
    read: token,
};

/// The token of an installed, logged-in GitHub CLI (`gh auth token`), if there is one. `gh`
/// gets the same scrubbed environment as every child, and at most five seconds.
///
/// It asks for the token of the host `config` points at (`[github] api_url`: GitHub
/// Enterprise's `https://HOST/api/v3`), so a github.com login never goes to another host.
pub fn token(config: &crate::config::Config) -> Option<Secret> {
    let api = config.api_url(crate::config::SourceKind::GitHub);
    let host = if api.trim_end_matches('/') == super::DEFAULT_API_URL {
        "github.com".to_string()
    } else {
        reqwest::Url::parse(&api).ok()?.host_str()?.to_string()
    };
    let gh = which::which("gh").ok()?;
    let mut child = std::process::Command::new(gh)
        .args(["auth", "token", "--hostname", &host])
        .env_clear()
        .envs(crate::agent::spawn::child_env(&[], &[]))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut()?, &mut out).ok()?;
    let token = out.trim();
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return None;
    }
    let token = Secret::new(token);
    Some(token)
}
