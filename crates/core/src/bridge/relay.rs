//! After both logins: the session is copied byte for byte in both directions (small buffers when
//! idle, 64 KiB ones during a burst, nothing parsed), counting bytes for the Bridge page and
//! ending when either side closes, when neither side sent a byte for the protocol's idle time,
//! or when the session is ended (its password removed, the bridge stopped).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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

/// Why the relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed,
    Idle,
    Cancelled,
}

/// What an idle direction holds: a read waits with this much room and no more.
const SMALL: usize = 2 * 1024;
/// How long the server may go on answering after the client closed its side.
const AFTER_CLIENT_CLOSED: Duration = Duration::from_secs(10);

/// Copies one direction: reads into a small buffer while traffic is light, and into a 64 KiB one
/// (allocated for the burst, dropped after it) while reads fill the small one. So an idle session
/// holds a couple of KiB, and a 50 MB message still moves in large writes.
async fn pump<R, W>(mut from: R, mut to: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut small = [0u8; SMALL];
    loop {
        let n = from.read(&mut small).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&small[..n]).await?;
        to.flush().await?;
        if n < SMALL {
            continue;
        }
        let mut big = vec![0u8; BUFFER];
        loop {
            let n = from.read(&mut big).await?;
            if n == 0 {
                return to.shutdown().await;
            }
            to.write_all(&big[..n]).await?;
            to.flush().await?;
            if n < SMALL {
                break;
            }
        }
    }
}

/// Copies until one side closes, the idle time passes or `cancel` fires. What either side sent
/// early (still in its reader's buffer) is handed on first.
pub async fn relay<C, U>(
    client: tokio::io::BufReader<C>,
    upstream: tokio::io::BufReader<U>,
    counters: Arc<Counters>,
    idle: Duration,
    cancel: CancellationToken,
) -> Ended
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let activity = Activity {
        start: Instant::now(),
        last: AtomicU64::new(0),
    };
    let (client_early, upstream_early) = (client.buffer().to_vec(), upstream.buffer().to_vec());
    let (mut client, mut upstream) = (client.into_inner(), upstream.into_inner());
    let handed_on = async {
        if !upstream_early.is_empty() {
            client.write_all(&upstream_early).await?;
            client.flush().await?;
            counters
                .to_client
                .fetch_add(upstream_early.len() as u64, Ordering::Relaxed);
        }
        if !client_early.is_empty() {
            upstream.write_all(&client_early).await?;
            upstream.flush().await?;
            counters
                .from_client
                .fetch_add(client_early.len() as u64, Ordering::Relaxed);
        }
        std::io::Result::Ok(())
    };
    if handed_on.await.is_err() {
        return Ended::Closed;
    }
    let (client_read, client_write) = tokio::io::split(Counted {
        inner: client,
        counter: &counters.from_client,
        activity: &activity,
    });
    let (upstream_read, upstream_write) = tokio::io::split(Counted {
        inner: upstream,
        counter: &counters.to_client,
        activity: &activity,
    });
    let mut up = std::pin::pin!(pump(client_read, upstream_write));
    let mut down = std::pin::pin!(pump(upstream_read, client_write));
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
        _ = &mut down => Ended::Closed,
        _ = &mut up => {
            // The client is done sending: let the server finish its answer (a LOGOUT's BYE).
            let _ = tokio::time::timeout(AFTER_CLIENT_CLOSED, &mut down).await;
            Ended::Closed
        }
        () = watch => Ended::Idle,
        () = cancel.cancelled() => Ended::Cancelled,
    }
}
