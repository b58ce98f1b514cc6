//! The attach stream of a running sandbox: the job goes in on stdin (then stdin is closed), and
//! standard output is kept up to a cap, standard error only as a short tail for the logs.

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Bytes of standard error kept for the logs.
const STDERR_TAIL: usize = 8 * 1024;

/// What a container printed.
#[derive(Debug, Default)]
pub struct Captured {
    /// Standard output, at most the cap.
    pub stdout: Vec<u8>,
    /// The container printed more than the cap; reading stopped there.
    pub overflow: bool,
    /// The last bytes of standard error.
    pub stderr_tail: Vec<u8>,
}

impl Captured {
    /// The stderr tail as text, for a log line.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr_tail).into_owned()
    }
}

/// Writes the whole job document to the container's stdin, then closes it so the runner sees
/// end-of-file. A container that dies early makes this fail, which is not the grader's problem:
/// its verdict comes from what it printed and how it ended.
pub async fn send_input(
    mut input: Pin<Box<dyn AsyncWrite + Send>>,
    document: &[u8],
) -> std::io::Result<()> {
    input.write_all(document).await?;
    input.write_all(b"\n").await?;
    input.flush().await?;
    input.shutdown().await
}

/// Reads the attach stream into `captured` to its end or until standard output passes `cap`
/// bytes. What was read stays in `captured` when the caller gives up waiting (the deadline).
pub async fn collect<S>(mut output: S, cap: usize, captured: &mut Captured)
where
    S: Stream<Item = Result<LogOutput, BollardError>> + Unpin,
{
    while let Some(frame) = output.next().await {
        match frame {
            Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                let room = cap - captured.stdout.len();
                if message.len() > room {
                    captured.stdout.extend_from_slice(&message[..room]);
                    captured.overflow = true;
                    break;
                }
                captured.stdout.extend_from_slice(&message);
            }
            Ok(LogOutput::StdErr { message }) => {
                captured.stderr_tail.extend_from_slice(&message);
                let excess = captured.stderr_tail.len().saturating_sub(STDERR_TAIL);
                captured.stderr_tail.drain(..excess);
            }
            Ok(LogOutput::StdIn { .. }) => {}
            Err(e) => {
                tracing::debug!(error = %e, "attach stream ended with an error");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn frames(items: Vec<LogOutput>) -> impl Stream<Item = Result<LogOutput, BollardError>> {
        stream::iter(items.into_iter().map(Ok))
    }

    fn out(text: &str) -> LogOutput {
        LogOutput::StdOut {
            message: text.as_bytes().to_vec().into(),
        }
    }

    #[tokio::test]
    async fn stdout_is_kept_and_stderr_is_only_a_tail() {
        let big_err = "e".repeat(STDERR_TAIL + 10);
        let mut captured = Captured::default();
        collect(
            frames(vec![
                out("abc "),
                LogOutput::StdErr {
                    message: big_err.into_bytes().into(),
                },
                out("def\n"),
            ]),
            1024,
            &mut captured,
        )
        .await;
        assert_eq!(captured.stdout, b"abc def\n");
        assert!(!captured.overflow);
        assert_eq!(captured.stderr_tail.len(), STDERR_TAIL);
    }

    #[tokio::test]
    async fn reading_stops_at_the_cap() {
        let mut captured = Captured::default();
        let stream = frames(vec![out("12345"), out("67890"), out("x")]);
        collect(stream, 8, &mut captured).await;
        assert_eq!(captured.stdout, b"12345678");
        assert!(captured.overflow);
    }
}
