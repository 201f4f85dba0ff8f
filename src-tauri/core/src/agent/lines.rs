//! Reads newline-separated text with a bound on line length, so a runaway agent cannot make
//! us buffer without limit. Over-long lines are cut (the rest is dropped up to the newline);
//! invalid UTF-8 is replaced; a trailing `\r` is removed; an unterminated last line is kept.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

pub struct BoundedLines<R> {
    reader: R,
    max: usize,
}

/// One line, and whether it had to be cut.
pub struct LineRead {
    pub text: String,
    pub truncated: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        Self { reader, max }
    }

    /// The next line, or `None` at end of stream.
    pub async fn next_line(&mut self) -> std::io::Result<Option<LineRead>> {
        let mut buf: Vec<u8> = Vec::new();
        let mut truncated = false;
        let mut saw_any = false;
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let newline = chunk.iter().position(|b| *b == b'\n');
            let take = newline.unwrap_or(chunk.len());
            let room = self.max.saturating_sub(buf.len());
            if take > room {
                truncated = true;
            }
            buf.extend_from_slice(&chunk[..take.min(room)]);
            let consumed = newline.map(|n| n + 1).unwrap_or(chunk.len());
            self.reader.consume(consumed);
            if newline.is_some() {
                break;
            }
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(LineRead {
            text: String::from_utf8_lossy(&buf).into_owned(),
            truncated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Vec<(String, bool)> {
        let mut r = BoundedLines::new(tokio::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().await.unwrap() {
            out.push((l.text, l.truncated));
        }
        out
    }

    #[tokio::test]
    async fn splits_crlf_bounds_and_keeps_unterminated_tail() {
        let got = all(b"ab\r\n0123456789abc\n\xffok\nlast", 10).await;
        assert_eq!(
            got,
            vec![
                ("ab".into(), false),
                ("0123456789".into(), true),
                ("\u{fffd}ok".into(), false),
                ("last".into(), false),
            ]
        );
    }
}
