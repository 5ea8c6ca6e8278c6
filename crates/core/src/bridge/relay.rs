//! After both logins: the session is copied byte for byte in both directions (nothing parsed),
//! counting bytes for the Bridge page and ending when either side closes, when neither side sent
//! a byte for the protocol's idle time, or when the session is ended (its password removed, the
//! bridge stopped).
//!
//! Each direction reads into a 64 KiB buffer that exists only while bytes flow: a read that has to
//! wait gives it back. An idle session (a mail program sitting in IDLE, a device between polls)
//! then holds no copy buffer at all, where two fixed buffers cost 128 KiB per session. The line
//! readers of the login are taken apart too: what they still hold is copied first, and their
//! buffers freed.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio_util::sync::CancellationToken;

use super::sessions::Counters;

const BUFFER: usize = 64 * 1024;

/// Milliseconds since `start` of the last byte either way.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A stream whose reads are counted.
struct Counted<'a, S> {
    inner: S,
    counter: &'a AtomicU64,
    activity: &'a Activity,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.counter.fetch_add(n as u64, Ordering::Relaxed);
            self.activity.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One direction of the copy.
#[derive(Debug, Default)]
struct Pump {
    /// Only while bytes flow (see the module's comment).
    buf: Option<Box<[u8]>>,
    /// What of `buf` is still to be written: `start..end`.
    start: usize,
    end: usize,
    /// Written but not yet flushed (TLS keeps written bytes until a record is full or flushed).
    unflushed: bool,
    /// The reader closed; its end is passed on as a shutdown of the writer.
    eof: bool,
    done: bool,
}

impl Pump {
    /// A pump whose first bytes to write are `early` (what the reader had buffered).
    fn starting_with(early: &[u8]) -> Self {
        if early.is_empty() {
            return Self::default();
        }
        Self {
            buf: Some(early.into()),
            end: early.len(),
            ..Self::default()
        }
    }

    /// Copies from `from` to `to` until `from` closes (then shuts `to` down).
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut from: Pin<&mut R>,
        mut to: Pin<&mut W>,
    ) -> Poll<io::Result<()>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if self.done {
                return Poll::Ready(Ok(()));
            }
            while self.start < self.end {
                let buf = self.buf.as_deref().unwrap_or_default();
                let n = ready!(to.as_mut().poll_write(cx, &buf[self.start..self.end]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.start += n;
                self.unflushed = true;
            }
            if self.eof {
                ready!(to.as_mut().poll_shutdown(cx))?;
                self.done = true;
                self.buf = None;
                continue;
            }
            let buf = self
                .buf
                .get_or_insert_with(|| vec![0; BUFFER].into_boxed_slice());
            let mut read = ReadBuf::new(buf);
            match from.as_mut().poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => {
                    let n = read.filled().len();
                    (self.start, self.end, self.eof) = (0, n, n == 0);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    // Nothing to copy now: the buffer goes back until the next bytes.
                    self.buf = None;
                    if self.unflushed {
                        ready!(to.as_mut().poll_flush(cx))?;
                        self.unflushed = false;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Why the relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed,
    Idle,
    Cancelled,
}

/// Copies until one side closes, the idle time passes or `cancel` fires. What either reader holds
/// already (a client's pipelined command, the server's first bytes after its answer) goes first.
pub async fn relay<C, U>(
    client: BufReader<C>,
    upstream: BufReader<U>,
    counters: Arc<Counters>,
    idle: Duration,
    cancel: CancellationToken,
) -> Ended
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let activity = Activity {
        start: Instant::now(),
        last: AtomicU64::new(0),
    };
    let (mut up, mut down) = (
        Pump::starting_with(client.buffer()),
        Pump::starting_with(upstream.buffer()),
    );
    counters
        .from_client
        .fetch_add(up.end as u64, Ordering::Relaxed);
    counters
        .to_client
        .fetch_add(down.end as u64, Ordering::Relaxed);
    let (client, upstream) = (client.into_inner(), upstream.into_inner());
    let mut client = Counted {
        inner: client,
        counter: &counters.from_client,
        activity: &activity,
    };
    let mut upstream = Counted {
        inner: upstream,
        counter: &counters.to_client,
        activity: &activity,
    };
    // Both directions until both have closed, or the first error.
    let copy = poll_fn(|cx| {
        let sent = up.poll(cx, Pin::new(&mut client), Pin::new(&mut upstream));
        let received = down.poll(cx, Pin::new(&mut upstream), Pin::new(&mut client));
        match (sent, received) {
            (Poll::Pending, Poll::Pending | Poll::Ready(Ok(())))
            | (Poll::Ready(Ok(())), Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(()),
        }
    });
    let watch = async {
        loop {
            let left = idle.saturating_sub(activity.idle());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.max(Duration::from_millis(50))).await;
        }
    };
    tokio::select! {
        () = copy => Ended::Closed,
        () = watch => Ended::Idle,
        () = cancel.cancelled() => Ended::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, duplex};

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| u8::try_from((i * 31 + usize::from(seed)) % 251).unwrap_or(0))
            .collect()
    }

    #[tokio::test]
    async fn both_directions_are_copied_and_counted_and_a_close_is_passed_on() {
        let (mut program, bridge_side) = duplex(16 * 1024);
        let (bridge_up, mut server) = duplex(16 * 1024);
        // Bytes each side sent before the relay, already in the login's line readers.
        program.write_all(b"early ").await.unwrap();
        server.write_all(b"first ").await.unwrap();
        let mut bridge_side = BufReader::new(bridge_side);
        let mut bridge_up = BufReader::new(bridge_up);
        assert_eq!(bridge_side.fill_buf().await.unwrap(), b"early ");
        assert_eq!(bridge_up.fill_buf().await.unwrap(), b"first ");
        let counters = Arc::new(Counters::default());
        let relay = tokio::spawn(relay(
            bridge_side,
            bridge_up,
            counters.clone(),
            Duration::from_secs(60),
            CancellationToken::new(),
        ));
        let (up, down) = (bytes(1_000_003, 1), bytes(3_000_017, 2));
        let (up2, down2) = (up.clone(), down.clone());
        let program_task = tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(&mut program);
            let send = async {
                w.write_all(&up2).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let mut got = Vec::new();
            let recv = r.read_to_end(&mut got);
            let ((), n) = tokio::join!(send, recv);
            n.unwrap();
            got
        });
        let (mut r, mut w) = tokio::io::split(&mut server);
        let send = async {
            w.write_all(&down2).await.unwrap();
            w.shutdown().await.unwrap();
        };
        let mut got = Vec::new();
        let ((), n) = tokio::join!(send, r.read_to_end(&mut got));
        n.unwrap();
        assert_eq!(got[..6], *b"early ", "what was buffered goes first");
        assert!(
            got[6..] == up[..],
            "the server got the program's bytes unchanged"
        );
        let got = program_task.await.unwrap();
        assert_eq!(got[..6], *b"first ");
        assert!(got[6..] == down[..], "and the program the server's");
        assert_eq!(relay.await.unwrap(), Ended::Closed);
        let counted = (
            counters.from_client.load(Ordering::Relaxed),
            counters.to_client.load(Ordering::Relaxed),
        );
        assert_eq!(counted, (6 + up.len() as u64, 6 + down.len() as u64));
    }

    #[tokio::test]
    async fn a_direction_with_nothing_to_copy_holds_no_buffer() {
        type Duplex = tokio::io::DuplexStream;
        fn poll(pump: &mut Pump, from: &mut Duplex, to: &mut Duplex) -> Poll<io::Result<()>> {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            pump.poll(&mut cx, Pin::new(from), Pin::new(to))
        }
        let (mut program, mut from) = duplex(1024);
        let (mut to, mut server) = duplex(1024);
        let mut pump = Pump::default();
        assert!(poll(&mut pump, &mut from, &mut to).is_pending());
        assert!(pump.buf.is_none(), "idle: no buffer");
        program.write_all(b"a1 NOOP\r\n").await.unwrap();
        assert!(poll(&mut pump, &mut from, &mut to).is_pending());
        assert!(pump.buf.is_none(), "copied, idle again: no buffer");
        let mut got = [0; 9];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"a1 NOOP\r\n");
        drop(program);
        assert!(matches!(
            poll(&mut pump, &mut from, &mut to),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(
            server.read(&mut got).await.unwrap(),
            0,
            "the close is passed on"
        );
    }
}
