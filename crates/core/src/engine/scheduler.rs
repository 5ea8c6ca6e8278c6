//! The scheduler: stores when each connection is next due (`schedule.rs` computes the
//! time), runs what is due a few at a time, and sleeps until the next due time or a wake-up.
//! "Refresh all" shares its pipeline (`bulk.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Engine, RefreshReport, schedule};
use crate::error::Result;

impl Engine {
    /// Stores when the scheduler should next act on a connection, from its state and cache.
    pub fn reschedule(&self, id: &str) -> Result<()> {
        let conn = self.store.get_connection(id)?;
        let next = schedule::next_refresh(
            &conn,
            self.cached_expiry(&conn),
            &self.config(),
            self.clock.now(),
            rand::random::<f64>(),
        );
        self.store.set_next_refresh(id, next)?;
        self.wake();
        Ok(())
    }

    /// Computes every connection's next refresh again (the refresh margin or keep-alive
    /// changed): one read of all rows, then one write per connection.
    pub fn reschedule_all(&self) -> Result<()> {
        let config = self.config();
        let now = self.clock.now();
        for conn in self.store.list_connections()? {
            let next = schedule::next_refresh(
                &conn,
                self.cached_expiry(&conn),
                &config,
                now,
                rand::random::<f64>(),
            );
            if next != conn.next_refresh_at {
                self.store.set_next_refresh(&conn.id, next)?;
            }
        }
        self.wake();
        Ok(())
    }

    /// Refreshes every connection that can be refreshed, a few at a time (`bulk.rs`).
    pub async fn refresh_all(self: &Arc<Self>) -> Result<Vec<RefreshReport>> {
        let asked_at = self.clock.now();
        let ids = self.store.refreshable_ids()?;
        self.refresh_bulk(ids, asked_at).await
    }

    /// One pass of the scheduler: schedule what has no schedule, refresh what is due.
    /// Returns how many refreshes it ran.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize> {
        for conn in self.store.connections_unscheduled()? {
            self.reschedule(&conn.id)?;
        }
        let now = self.clock.now();
        let due: Vec<String> = self
            .store
            .connections_due(now, 500)?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let n = due.len();
        if n > 0 {
            tracing::debug!(count = n, "refreshing due connections");
            for report in self.refresh_bulk(due, now).await? {
                // A refresh that failed without recording a state (e.g. the lock) must not spin.
                if report.error.is_some()
                    && report
                        .connection
                        .next_refresh_at
                        .is_some_and(|at| at <= now)
                {
                    let at = now
                        + chrono::TimeDelta::from_std(self.config().retry_base).unwrap_or_default();
                    self.store
                        .set_next_refresh(&report.connection.id, Some(at))?;
                }
            }
        }
        if let Ok(pruned) = self.store.prune_events(now - self.config().history)
            && pruned > 0
        {
            tracing::debug!(pruned, "old history pruned");
        }
        Ok(n)
    }

    /// Runs the scheduler until cancelled: sleeps until the next due time or a wake-up.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.follow_settings() {
                tracing::warn!(error = %e, "the settings could not be read");
            }
            if let Err(e) = self.run_due().await {
                tracing::error!(error = %e, "scheduler pass failed");
            }
            let now = self.clock.now();
            let sleep = match self.store.next_refresh_due() {
                Ok(Some(at)) => (at - now).to_std().unwrap_or(Duration::ZERO),
                Ok(None) => self.config().idle_wake,
                Err(_) => self.config().retry_base,
            }
            .min(self.config().idle_wake);
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
                () = cancel.cancelled() => return,
            }
        }
    }
}
