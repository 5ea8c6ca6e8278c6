//! Organisation and shared mailboxes through application access: the app's token and
//! permissions, checking a pasted list, adding mailboxes (progress per row, cancellable by run
//! id), removing one.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use super::Service;
use crate::application::addresses::{CheckedEntry, ListEntry, check, parse_list_checked};
use crate::application::mailbox::{AccessReport, BulkProgress, BulkReport, Mailboxes, remove};
use crate::application::permissions::MailboxUse;
use crate::application::with_consent_link;
use crate::connection::Connection;
use crate::error::{Error, ErrorCode, Result};

/// Runs of "add mailboxes" in progress, by the id the caller chose, until they end.
#[derive(Debug, Default)]
pub(super) struct Runs(Mutex<HashMap<String, CancellationToken>>);

impl Service {
    fn mailboxes(&self) -> Mailboxes<'_> {
        Mailboxes {
            store: &self.store,
            secrets: self.keychain.as_ref(),
            http: &self.http,
            tokens: &self.app_tokens,
        }
    }

    /// An error an administrator's consent resolves, with the admin consent link in its fix
    /// (for shells that show text only; the app shows the link in its own panel).
    pub async fn with_consent_link(&self, e: Error, registration: &str) -> Error {
        match self.registration(registration).await {
            Ok(reg) => with_consent_link(e, &reg),
            Err(_) => e,
        }
    }

    /// Each address of a pasted or imported list, checked for syntax (no network), on a
    /// blocking thread: a large paste never holds up the caller's thread. Text over 1 MiB or
    /// 10,000 lines is refused with an error naming the limit.
    pub async fn check_mailbox_list(&self, text: String) -> Result<Vec<CheckedEntry>> {
        self.blocking(move |_, _| Ok(check(&parse_list_checked(&text)?)))
            .await
    }

    /// The app's token and permissions; `fresh` asks for a new token (after an admin consented).
    pub async fn app_access(
        &self,
        registration: &str,
        mailbox_use: MailboxUse,
        fresh: bool,
    ) -> Result<AccessReport> {
        self.mailboxes()
            .check_access(registration, mailbox_use, fresh)
            .await
    }

    /// Adds mailboxes by address; each finished row goes to `progress`. `run` names the run for
    /// [`Service::cancel_mailbox_add`], which stops the lookups not yet started.
    pub async fn add_mailboxes(
        &self,
        registration: &str,
        entries: &[ListEntry],
        mailbox_use: MailboxUse,
        run: &str,
        progress: impl FnMut(BulkProgress),
    ) -> Result<BulkReport> {
        let cancel = CancellationToken::new();
        {
            let mut active = self.runs.0.lock().expect("runs poisoned");
            if active.contains_key(run) {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "This run has already started.",
                ));
            }
            active.insert(run.to_owned(), cancel.clone());
        }
        let result = self
            .mailboxes()
            .add(registration, entries, mailbox_use, &cancel, progress)
            .await;
        self.runs.0.lock().expect("runs poisoned").remove(run);
        self.engine.wake();
        result
    }

    pub fn cancel_mailbox_add(&self, run: &str) {
        if let Some(cancel) = self.runs.0.lock().expect("runs poisoned").get(run) {
            cancel.cancel();
        }
    }

    /// Removes an organisation mailbox (not a signed-in connection).
    pub async fn remove_mailbox(&self, id: &str) -> Result<Connection> {
        let id = id.to_owned();
        let gone = self
            .blocking(move |store, keychain| remove(store, keychain, &id))
            .await?;
        self.engine.forget(&gone.id);
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::Service;
    use crate::keychain::MemoryKeychain;
    use crate::paths::DataDir;

    #[tokio::test]
    async fn the_list_check_refuses_huge_pastes_and_never_panics_on_accents() {
        let tmp = tempfile::tempdir().unwrap();
        let service = Service::open(
            DataDir::open(tmp.path().join("data")).unwrap(),
            Arc::new(MemoryKeychain::new()),
        )
        .unwrap();
        let checked = service
            .check_mailbox_list("éàèù@contoso.com\ninfo@contoso.com".into())
            .await
            .unwrap();
        assert!(checked[0].problem.as_deref().unwrap().contains("non-ASCII"));
        assert_eq!(checked[1].address.as_deref(), Some("info@contoso.com"));
        let huge = "a@contoso.com\n".repeat(100_000);
        let err = service.check_mailbox_list(huge).await.unwrap_err();
        assert_eq!(err.field(), Some("addresses"));
        assert!(err.message().contains("at most 1 MiB"), "{err}");
    }
}
