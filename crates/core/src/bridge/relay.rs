//! After both logins: the session is copied byte for byte in both directions (64 KiB buffers,
//! nothing parsed), counting bytes for the Bridge page and ending when either side closes, when
//! neither side sent a byte for the protocol's idle time, or when the session is ended (its
//! password removed, the bridge stopped).

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

/// Copies until one side closes, the idle time passes or `cancel` fires.
pub async fn relay<C, U>(
    client: C,
    upstream: U,
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
    let copy = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, BUFFER, BUFFER);
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
        _ = copy => Ended::Closed,
        () = watch => Ended::Idle,
        () = cancel.cancelled() => Ended::Cancelled,
    }
}
