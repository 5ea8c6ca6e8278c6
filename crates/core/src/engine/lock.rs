//! A lock file per connection in the data directory, so the app and the CLI never refresh the
//! same connection at the same time. The operating system releases it when the holder exits,
//! even after `kill -9`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Result};

/// Held while refreshing; dropping it (closing the file) unlocks.
#[derive(Debug)]
pub struct Held(#[allow(dead_code, reason = "closing the file releases the lock")] File);

/// Waits up to `wait` for the connection's lock.
pub async fn acquire(dir: &Path, id: &str, wait: Duration) -> Result<Held> {
    let (path, file) = open(dir, id)?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Held(file)),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorCode::Timeout,
                    "Another Mail Connections process has been refreshing this connection for too long.",
                )
                .with_fix("Try again in a minute; if it persists, quit the other process."));
            }
            Err(TryLockError::Error(e)) => return Err(lock_error(&path, &e)),
        }
    }
}

/// The connection's lock if no one holds it now (`None`: another holder has it), without
/// waiting: bulk refreshes take what is free and come back for the rest.
pub fn try_acquire(dir: &Path, id: &str) -> Result<Option<Held>> {
    let (path, file) = open(dir, id)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Held(file))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(lock_error(&path, &e)),
    }
}

fn open(dir: &Path, id: &str) -> Result<(std::path::PathBuf, File)> {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::fs::create_dir_all(dir).map_err(|e| lock_error(dir, &e))?;
    let path = dir.join(format!("{safe}.lock"));
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|e| lock_error(&path, &e))?;
    Ok((path, file))
}

fn lock_error(path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::DataDir,
        format!("Cannot use the lock file {}: {e}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "c1", Duration::from_secs(1))
            .await
            .unwrap();
        let e = acquire(dir.path(), "c1", Duration::from_millis(100))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout);
        // Another connection is not blocked.
        acquire(dir.path(), "c2", Duration::from_millis(100))
            .await
            .unwrap();
        drop(first);
        acquire(dir.path(), "c1", Duration::from_millis(100))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn trying_takes_a_free_lock_and_leaves_a_held_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_acquire(dir.path(), "c1").unwrap().expect("free");
        assert!(try_acquire(dir.path(), "c1").unwrap().is_none());
        let e = acquire(dir.path(), "c1", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout);
        drop(first);
        assert!(try_acquire(dir.path(), "c1").unwrap().is_some());
    }
}
