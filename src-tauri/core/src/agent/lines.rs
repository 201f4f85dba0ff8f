//! Reads newline-separated text with a bound on line length, so a runaway agent cannot make
//! us buffer without limit. Over-long lines are cut (the rest is dropped up to the newline,
//! read and let go piece by piece: a line of any size never sits whole in memory); invalid
//! UTF-8 is replaced; a trailing `\r` is removed; an unterminated last line is kept.
//! [`Tail`] keeps the end of a stream (the agent's error output) in a fixed space.

use std::collections::VecDeque;
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
        // Valid UTF-8 (the usual case) becomes the line without a copy.
        let text = String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(Some(LineRead { text, truncated }))
    }
}

/// The last `cap` bytes of a stream, in a ring: what came before is let go as it comes.
pub struct Tail {
    buf: VecDeque<u8>,
    cap: usize,
    dropped: bool,
}

impl Tail {
    pub fn new(cap: usize) -> Self {
        Self {
            buf: VecDeque::with_capacity(cap),
            cap,
            dropped: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = match bytes.len().checked_sub(self.cap) {
            Some(skip) if skip > 0 => {
                self.dropped = true;
                &bytes[skip..]
            }
            _ => bytes,
        };
        let excess = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        if excess > 0 {
            self.dropped = true;
            self.buf.drain(..excess);
        }
        self.buf.extend(bytes);
    }

    /// Bytes held now (never more than the cap).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buf.len()
    }

    /// The tail as text. When the start was let go, the cut line is dropped too and
    /// [`super::TRUNCATED`] says so.
    pub fn text(&self) -> String {
        let (a, b) = self.buf.as_slices();
        let mut bytes = Vec::with_capacity(a.len() + b.len());
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(b);
        if !self.dropped {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        let from = bytes
            .iter()
            .position(|b| *b == b'\n')
            .filter(|n| n + 1 < bytes.len())
            .map_or(0, |n| n + 1);
        format!(
            "{}\n{}",
            super::TRUNCATED,
            String::from_utf8_lossy(&bytes[from..])
        )
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

    /// Reads `len` bytes of `byte` (and nothing else) without holding them.
    struct Endless {
        left: usize,
        byte: u8,
    }

    impl tokio::io::AsyncRead for Endless {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self.left.min(buf.remaining());
            buf.put_slice(&vec![self.byte; n]);
            self.left -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_huge_line_without_newline_is_never_held_whole() {
        let huge = 256 * 1024 * 1024;
        let reader = tokio::io::BufReader::with_capacity(
            64 * 1024,
            Endless {
                left: huge,
                byte: b'x',
            },
        );
        let mut r = BoundedLines::new(reader, 1024);
        let line = r.next_line().await.unwrap().unwrap();
        assert!(line.truncated);
        assert_eq!(line.text.len(), 1024);
        assert!(line.text.capacity() <= 2048, "{}", line.text.capacity());
        assert!(r.next_line().await.unwrap().is_none());
    }

    #[test]
    fn the_tail_keeps_its_cap_whatever_comes_through() {
        let mut t = Tail::new(4096);
        let chunk: Vec<u8> = (0..8192u32)
            .map(|i| {
                if i % 64 == 63 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        // 100 MB of error output, in the pieces a pipe gives.
        for _ in 0..(100 * 1024 * 1024 / chunk.len()) {
            t.push(&chunk);
            assert!(t.len() <= 4096);
        }
        t.push(b"Error: the last words\n");
        let text = t.text();
        assert!(text.starts_with("…(truncated)\n"), "{}", &text[..40]);
        assert!(text.ends_with("Error: the last words\n"));
        assert!(text.len() <= 4096 + super::super::TRUNCATED.len() + 1);
        // Whole lines only after the marker.
        let first = text.lines().nth(1).unwrap();
        assert_eq!(first.len(), 63, "{first}");

        let mut small = Tail::new(4096);
        small.push(b"only this\n");
        assert_eq!(small.text(), "only this\n");
        let mut big = Tail::new(8);
        big.push(b"0123456789abcdef");
        assert_eq!(big.len(), 8);
        assert_eq!(big.text(), "…(truncated)\n89abcdef");
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
