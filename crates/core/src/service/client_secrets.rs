//! Client secrets: reminders before they expire, the app's secrets as Graph lists them, a
//! corrected end date, the portal page, and verified rotation (pasted, or created through Graph).

use chrono::{Months, NaiveDate};

use super::Service;
use crate::client_secret::credentials::{self, AppSecrets};
use crate::client_secret::reminders::{Reminder, Thresholds};
use crate::client_secret::rotation::{Rotation, RotationInput, RotationReport};
use crate::client_secret::{set_end_date, watch};
use crate::error::Result;
use crate::registration::Registration;

/// Months a secret created through Graph lasts unless the caller says otherwise (Microsoft
/// recommends less than 12).
pub const GRAPH_SECRET_MONTHS: u32 = 12;

impl Service {
    /// Secrets that expire within a threshold, have expired or are refused, soonest first; with
    /// `thresholds`, other steps than the configured ones.
    pub async fn reminders(&self, thresholds: Option<Thresholds>) -> Result<Vec<Reminder>> {
        let now = self.clock.now();
        let thresholds = thresholds.unwrap_or_else(|| self.reminders.thresholds());
        self.blocking(move |store, _| watch::current(store, now, &thresholds))
            .await
    }

    /// A secret or its date changed: the reminders are computed again now (banner, badges, tray,
    /// notifications).
    pub(super) async fn reminders_changed(&self) {
        self.reminders.wake();
        let watch = self.reminders.clone();
        if let Ok(Ok(list)) = tokio::task::spawn_blocking(move || watch.current()).await {
            self.reminders_are(list);
        }
    }

    /// The stored secret and, unless `offline` or when the app may not read them, every secret
    /// of the app in Entra (the stored one's end date taken from Graph, matched by its hint).
    pub async fn app_secrets(&self, id: &str, offline: bool) -> Result<AppSecrets> {
        if offline {
            return Ok(AppSecrets::stored(&self.registration(id).await?));
        }
        let answer = credentials::read(
            &self.store,
            self.keychain.as_ref(),
            &self.http,
            id,
            self.clock.now(),
        )
        .await?;
        if answer.expires_updated {
            self.reminders_changed().await;
        }
        Ok(answer)
    }

    /// Corrects the stored secret's end date.
    pub async fn set_secret_expiry(&self, id: &str, end: NaiveDate) -> Result<Registration> {
        let (id, now) = (id.to_owned(), self.clock.now());
        let reg = self
            .blocking(move |store, _| {
                let reg = store.find_registration(&id)?;
                set_end_date(store, &reg, end, now)?;
                store.find_registration(&reg.id)
            })
            .await?;
        self.reminders_changed().await;
        Ok(reg)
    }

    /// The portal's "Certificates & secrets" page of the app, in its cloud.
    pub async fn secret_portal_url(&self, id: &str) -> Result<String> {
        let reg = self.registration(id).await?;
        Ok(reg.cloud()?.portal_app_url(&reg.client_id, "Credentials"))
    }

    fn rotation(&self) -> Rotation<'_> {
        Rotation {
            store: &self.store,
            secrets: self.keychain.as_ref(),
            http: &self.http,
            engine: &self.engine,
            now: self.clock.now(),
        }
    }

    /// Verifies the pasted secret, swaps it into the keychain, re-verifies every connection.
    /// Nothing changes when the new secret does not work.
    pub async fn rotate_secret(&self, id: &str, input: &RotationInput) -> Result<RotationReport> {
        let report = self.rotation().rotate(id, input).await;
        self.reminders_changed().await;
        report
    }

    /// The same with the new secret created through Graph (`addPassword`) and the old one
    /// removed afterwards; it ends `expires` or in [`GRAPH_SECRET_MONTHS`].
    pub async fn rotate_secret_via_graph(
        &self,
        id: &str,
        expires: Option<NaiveDate>,
    ) -> Result<RotationReport> {
        let expires = expires.unwrap_or_else(|| {
            self.clock
                .now()
                .date_naive()
                .checked_add_months(Months::new(GRAPH_SECRET_MONTHS))
                .unwrap_or_default()
        });
        let report = self.rotation().rotate_via_graph(id, expires).await;
        self.reminders_changed().await;
        report
    }
}
