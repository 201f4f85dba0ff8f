//! What the long-lived process and the window process say to each other: JSON, one message
//! per line, over the window channel's Unix socket. The window's commands and events cross
//! as they are (a command's name, its arguments and its answer as the window sent and
//! receives them), so the generated bindings stay the only description of them.

use delegate_core::notice::Opens;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest message either side accepts once the window is in (a run with large drafts
/// fits many times over).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// The longest first message: before a connection is let in, it may not make Delegate hold
/// more than this.
pub const MAX_HELLO: usize = 4096;

/// What the long-lived process hands the window process it starts, on the child's standard
/// input (never its arguments or environment, which other programs of the user can read).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Launch {
    pub socket: PathBuf,
    /// Single use: admits this one process, once.
    pub secret: String,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("socket", &self.socket)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// From the window process.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FromWindow {
    /// The first message: the secret it was started with.
    Hello { secret: String },
    /// A command the web view invoked.
    Call {
        id: u64,
        command: String,
        args: Value,
    },
}

/// To the window process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ToWindow {
    /// Admitted: open the window, on this screen.
    Welcome { opens: Option<Opens> },
    /// Not admitted, and why (the connection ends).
    Refused { reason: String },
    /// A command's answer: the value, or the `{ code, message }` error the window shows.
    Reply { id: u64, outcome: Outcome },
    /// An event for the web view (`delegate://status`, `delegate://event`, …).
    Event { name: String, payload: Value },
    /// Bring the window to the front, on this screen.
    Show { opens: Option<Opens> },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Value),
    Err(Value),
}

impl std::fmt::Debug for FromWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FromWindow::Hello { .. } => f.write_str("Hello { secret: <hidden> }"),
            FromWindow::Call { id, command, .. } => f
                .debug_struct("Call")
                .field("id", id)
                .field("command", command)
                .finish_non_exhaustive(),
        }
    }
}

impl FromWindow {
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ToWindow {
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The next message's text; `None` at the end of the stream. A message longer than `max`
/// bytes is an error (the other side is not Delegate, or is broken).
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<String>> {
    buf.clear();
    let limit = u64::try_from(max).unwrap_or(u64::MAX) + 1;
    let n = (&mut *reader).take(limit).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            if buf.len() > max {
                "a message longer than the window channel allows"
            } else {
                "the stream ended in the middle of a message"
            },
        ));
    }
    buf.pop();
    String::from_utf8(std::mem::take(buf))
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes one message and its newline.
pub async fn write_line<W: AsyncWrite + Unpin>(
    writer: &mut W,
    line: String,
) -> std::io::Result<()> {
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_one_line_each_and_read_back() {
        let call = FromWindow::Call {
            id: 7,
            command: "request_changes".into(),
            args: json!({"id": 3, "feedback": "shorter,\nplease"}),
        };
        assert!(!call.line().contains('\n'));
        assert_eq!(
            serde_json::from_str::<FromWindow>(&call.line()).unwrap(),
            call
        );
        let reply = ToWindow::Reply {
            id: 7,
            outcome: Outcome::Err(json!({"code": "invalid", "message": "no"})),
        };
        assert_eq!(
            serde_json::from_str::<ToWindow>(&reply.line()).unwrap(),
            reply
        );
        let show = ToWindow::Show {
            opens: Some(Opens::Run { id: 4 }),
        };
        assert_eq!(
            serde_json::from_str::<ToWindow>(&show.line()).unwrap(),
            show
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let secret = "0123456789abcdef";
        let hello = FromWindow::Hello {
            secret: secret.into(),
        };
        let launch = Launch {
            socket: "/run/user/1000/delegate/window-1.sock".into(),
            secret: secret.into(),
        };
        assert!(!format!("{hello:?}").contains(secret));
        assert!(!format!("{launch:?}").contains(secret));
    }

    #[tokio::test]
    async fn a_line_longer_than_allowed_is_refused_without_reading_on() {
        let long = format!("{}\n", "x".repeat(MAX_HELLO + 10));
        let mut reader = tokio::io::BufReader::new(long.as_bytes());
        let mut buf = Vec::new();
        assert!(read_line(&mut reader, &mut buf, MAX_HELLO).await.is_err());
        assert!(buf.len() <= MAX_HELLO + 1);
        let mut reader = tokio::io::BufReader::new(&b"{}\n"[..]);
        assert_eq!(
            read_line(&mut reader, &mut buf, MAX_HELLO).await.unwrap(),
            Some("{}".to_string())
        );
        assert_eq!(
            read_line(&mut reader, &mut buf, MAX_HELLO).await.unwrap(),
            None
        );
    }
}
