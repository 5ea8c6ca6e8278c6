//! Connections as they stand and what can be done to them: list, one by id or address, history,
//! refresh now (one or all), verify through Microsoft Graph, disconnect.

use super::Service;
use crate::connect::disconnect;
use crate::connection::Connection;
use crate::engine::RefreshReport;
use crate::error::Result;
use crate::store::events::Event;
use crate::verification::{Verification, VerifyOptions};

/// How many history entries a connection shows unless asked for another number.
pub const HISTORY_LIMIT: u32 = 200;

impl Service {
    pub async fn connections(&self) -> Result<Vec<Connection>> {
        self.blocking(|store, _| store.list_connections()).await
    }

    /// One connection by id or address.
    pub async fn connection(&self, id: &str) -> Result<Connection> {
        let id = id.to_owned();
        self.blocking(move |store, _| store.get_connection(&id))
            .await
    }

    /// Newest first.
    pub async fn history(&self, id: &str, limit: u32) -> Result<Vec<Event>> {
        let id = id.to_owned();
        self.blocking(move |store, _| store.events(&store.get_connection(&id)?.id, limit))
            .await
    }

    /// Removes a connection of either kind, with its refresh token if it has one.
    pub async fn disconnect(&self, id: &str) -> Result<Connection> {
        let id = id.to_owned();
        let gone = self
            .blocking(move |store, keychain| disconnect(store, keychain, &id))
            .await?;
        self.engine.forget(&gone.id);
        Ok(gone)
    }

    /// "Refresh now": failures are in the report (and stored as the state), not an `Err`.
    pub async fn refresh(&self, id: &str) -> Result<RefreshReport> {
        self.engine.refresh(id).await
    }

    /// Every connection that can be refreshed, a few at a time.
    pub async fn refresh_all(&self) -> Result<Vec<RefreshReport>> {
        self.engine.refresh_all().await
    }

    /// Proves a connection works: Graph (profile, newest message, test message when asked,
    /// calendar) and IMAP/POP/SMTP logins, as its scopes allow; recorded in its history.
    pub async fn verify(&self, id: &str, options: VerifyOptions) -> Result<Verification> {
        self.engine.verify(id, options).await
    }

    /// [`Service::verify`] for every connection ("Verify all").
    pub async fn verify_all(&self, options: VerifyOptions) -> Result<Vec<Verification>> {
        self.engine.verify_all(options).await
    }
}
