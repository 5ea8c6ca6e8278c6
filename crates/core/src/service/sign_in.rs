//! Signing a mailbox in, in two calls so that a shell can show the link or code while it waits:
//! `start_*` prepares the request (registration, scopes, tenant, secret) and begins the flow;
//! `finish_sign_in` waits for it, stores the connection and hands it to the engine;
//! `cancel_sign_in` stops the wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::Service;
use super::attempts::{Attempts, Flow};
use crate::connect::{ConnectOptions, Prepared, begin_device, complete_device, finish, prepare};
use crate::connection::Connection;
use crate::error::{Error, ErrorCode, Result};
use crate::flow::auth_code;
use crate::flow::device_code::DeviceCode;
use crate::flow::identity::Identity;
use crate::oauth::Tokens;

/// A started browser sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BrowserSignIn {
    pub attempt: String,
    /// The authorization link (the shell opens it in the system browser).
    pub url: String,
    /// Whether the system browser could be opened (set by the shell that tried).
    pub opened: bool,
}

/// A started device-code sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DeviceSignIn {
    pub attempt: String,
    pub code: DeviceCode,
}

/// A finished sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Connected {
    pub connection: Connection,
    /// False when the same account was already connected with this app and was updated.
    pub created: bool,
}

struct Attempt {
    prepared: Prepared,
    flow: Flow,
}

/// A sign-in that came back as another account than its login hint, kept (not saved) until the
/// user confirms it, cancels it, or it expires.
struct Held {
    prepared: Prepared,
    tokens: Tokens,
    identity: Identity,
}

/// How long a sign-in that came back as another account waits for "save anyway".
const HELD_FOR: Duration = Duration::from_secs(10 * 60);

/// The two accounts of a sign-in that came back as someone else than its login hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccountMismatch {
    /// The login hint the sign-in started with.
    pub expected: String,
    /// The account that actually signed in.
    pub signed_in_as: String,
}

/// The field of the error [`Service::finish_sign_in`] returns for an [`AccountMismatch`] (code
/// `Conflict`); [`Service::confirm_sign_in`] saves it anyway.
pub const MISMATCH_FIELD: &str = "login_hint";

/// Whether an error is a sign-in that came back as another account than its login hint.
pub fn is_account_mismatch(e: &Error) -> bool {
    e.code() == ErrorCode::Conflict && e.field() == Some(MISMATCH_FIELD)
}

/// Sign-ins in progress (see [`Attempts`]), and results held for confirmation.
#[derive(Default)]
pub(super) struct SignIns {
    attempts: Attempts<Attempt>,
    held: Arc<Mutex<HashMap<String, (Held, AccountMismatch)>>>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

impl SignIns {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Held, AccountMismatch)>> {
        self.held.lock().expect("held sign-ins poisoned")
    }

    fn add(&self, prepared: Prepared, flow: Flow, lifetime: Duration) -> String {
        self.attempts.add(Attempt { prepared, flow }, lifetime)
    }

    fn take(&self, attempt: &str) -> Option<(Attempt, CancellationToken)> {
        self.attempts.take(attempt)
    }

    fn end(&self, attempt: &str) {
        self.attempts.end(attempt);
    }

    /// Stops the attempt (see [`Attempts::cancel`]) and drops a result held for it.
    fn cancel(&self, attempt: &str) {
        self.attempts.cancel(attempt);
        self.held().remove(attempt);
    }

    fn hold(&self, attempt: &str, held: Held, mismatch: AccountMismatch) {
        self.held().insert(attempt.to_owned(), (held, mismatch));
        let (all, attempt) = (Arc::downgrade(&self.held), attempt.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(HELD_FOR).await;
            if let Some(all) = all.upgrade() {
                all.lock().expect("held sign-ins poisoned").remove(&attempt);
            }
        });
    }

    fn unhold(&self, attempt: &str) -> Option<Held> {
        self.held().remove(attempt).map(|(held, _)| held)
    }

    fn mismatch(&self, attempt: &str) -> Option<AccountMismatch> {
        self.held().get(attempt).map(|(_, m)| m.clone())
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.attempts.is_empty() && self.held().is_empty()
    }
}

/// The login hint a new sign-in must come back as (none for a reconnect, which is held to its
/// own account by `finish`).
fn expected_account(prepared: &Prepared) -> Option<String> {
    if prepared.reconnect.is_some() {
        return None;
    }
    prepared
        .sign_in
        .login_hint
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

fn mismatch_error(m: &AccountMismatch) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!(
            "The sign-in was started for {}, but {} signed in. Nothing was saved.",
            m.expected, m.signed_in_as
        ),
    )
    .with_detail(crate::error::ErrorDetail {
        field: Some(MISMATCH_FIELD.to_owned()),
        ..crate::error::ErrorDetail::default()
    })
    .with_fix(format!(
        "If {} is the account you want, save it anyway; otherwise sign in again as {}.",
        m.signed_in_as, m.expected
    ))
}

impl Service {
    async fn prepare(&self, options: &ConnectOptions) -> Result<Prepared> {
        let options = options.clone();
        self.blocking(move |store, keychain| prepare(store, keychain, &options))
            .await
    }

    /// Starts a browser sign-in; waits at most `timeout` for the browser once finished is
    /// called (default: as long as Microsoft's codes live).
    pub async fn start_browser_sign_in(
        &self,
        options: &ConnectOptions,
        timeout: Option<Duration>,
    ) -> Result<BrowserSignIn> {
        let prepared = self.prepare(options).await?;
        let pending = auth_code::begin(prepared.sign_in.clone(), self.deep_links.as_ref()).await?;
        let url = pending.url().to_owned();
        let timeout = timeout.unwrap_or(auth_code::DEFAULT_TIMEOUT);
        let attempt = self
            .sign_ins
            .add(prepared, Flow::Browser(pending, timeout), timeout);
        Ok(BrowserSignIn {
            attempt,
            url,
            opened: false,
        })
    }

    /// Starts a device-code sign-in (public apps only).
    pub async fn start_device_sign_in(&self, options: &ConnectOptions) -> Result<DeviceSignIn> {
        let prepared = self.prepare(options).await?;
        let pending = begin_device(&prepared, &self.http).await?;
        let code = pending.code.clone();
        let lifetime = (code.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        let attempt = self.sign_ins.add(prepared, Flow::Device(pending), lifetime);
        Ok(DeviceSignIn { attempt, code })
    }

    /// Waits until the sign-in finishes, fails, times out or is cancelled, then stores it (the
    /// refresh token in the keychain before the row) and schedules its refreshes.
    pub async fn finish_sign_in(&self, attempt: &str) -> Result<Connected> {
        let Some((Attempt { prepared, flow }, cancel)) = self.sign_ins.take(attempt) else {
            return Err(Error::not_found("That sign-in is no longer running."));
        };
        let result = match flow {
            Flow::Browser(pending, timeout) => pending.complete(&self.http, timeout, &cancel).await,
            Flow::Device(pending) => complete_device(pending, &prepared, &self.http, &cancel).await,
        };
        self.sign_ins.end(attempt);
        let (tokens, identity) = result?;
        if let Some(expected) = expected_account(&prepared)
            && !expected.eq_ignore_ascii_case(identity.address.trim())
        {
            // Someone else may have read the link (it is in the process list) and signed in as
            // themselves: nothing is saved until the user says so.
            let mismatch = AccountMismatch {
                expected,
                signed_in_as: identity.address.clone(),
            };
            tracing::warn!(expected = %mismatch.expected, signed_in_as = %mismatch.signed_in_as, "the sign-in came back as another account");
            let error = mismatch_error(&mismatch);
            self.sign_ins.hold(
                attempt,
                Held {
                    prepared,
                    tokens,
                    identity,
                },
                mismatch,
            );
            return Err(error);
        }
        self.save_sign_in(prepared, tokens, identity).await
    }

    /// The two accounts of a finished sign-in held because it came back as another account
    /// than its login hint (see [`is_account_mismatch`]).
    pub fn sign_in_mismatch(&self, attempt: &str) -> Option<AccountMismatch> {
        self.sign_ins.mismatch(attempt)
    }

    /// Saves a sign-in held because it came back as another account than its login hint ("save
    /// anyway"). Held results expire after ten minutes or when the attempt is cancelled.
    pub async fn confirm_sign_in(&self, attempt: &str) -> Result<Connected> {
        let Some(Held {
            prepared,
            tokens,
            identity,
        }) = self.sign_ins.unhold(attempt)
        else {
            return Err(
                Error::not_found("That sign-in is no longer waiting to be saved.")
                    .with_fix("Sign in again."),
            );
        };
        tracing::info!(account = %identity.address, "saving a sign-in as another account than its hint, as confirmed");
        self.save_sign_in(prepared, tokens, identity).await
    }

    async fn save_sign_in(
        &self,
        prepared: Prepared,
        tokens: Tokens,
        identity: Identity,
    ) -> Result<Connected> {
        let (connection, created) = self
            .blocking(move |store, keychain| finish(store, keychain, &prepared, &tokens, &identity))
            .await?;
        self.engine.connected(&connection.id)?;
        Ok(Connected {
            connection,
            created,
        })
    }

    /// Stops a sign-in that is starting or waiting, and drops it with its listener, deep-link
    /// state and cancel token (or a result held for confirmation); nothing happens for an
    /// unknown one.
    pub fn cancel_sign_in(&self, attempt: &str) {
        self.sign_ins.cancel(attempt);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cloud::CloudId;
    use crate::keychain::MemoryKeychain;
    use crate::paths::DataDir;
    use crate::registration::{Audience, ClientKind, RegistrationInput, Usage};
    use crate::scopes::Preset;

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn service_with_app(redirect: &str) -> (tempfile::TempDir, Service) {
        let tmp = tempfile::tempdir().unwrap();
        let service = Service::open(
            DataDir::open(tmp.path().join("data")).unwrap(),
            Arc::new(MemoryKeychain::new()),
        )
        .unwrap();
        service
            .add_registration(RegistrationInput {
                name: "desktop".into(),
                client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
                kind: ClientKind::Public,
                tenant: "common".into(),
                cloud: CloudId::Global,
                authority_url: None,
                graph_url: None,
                imap_server: None,
                pop_server: None,
                smtp_server: None,
                usage: Usage::Delegated,
                audience: Audience::AnyOrganizationAndPersonal,
                preset: Preset::Read,
                redirect_uri: Some(redirect.into()),
                secret: None,
                secret_expires: None,
                secret_label: None,
            })
            .await
            .unwrap();
        (tmp, service)
    }

    fn options() -> ConnectOptions {
        ConnectOptions {
            registration: "desktop".into(),
            ..ConnectOptions::default()
        }
    }

    #[tokio::test]
    async fn a_cancelled_sign_in_frees_its_fixed_port_for_the_next_one() {
        let port = free_port();
        let (_tmp, service) = service_with_app(&format!("http://localhost:{port}/cb")).await;
        let first = service
            .start_browser_sign_in(&options(), None)
            .await
            .unwrap();
        assert!(
            first.url.contains(&format!("localhost%3A{port}")),
            "{}",
            first.url
        );
        // The port is held while the sign-in waits.
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
        service.cancel_sign_in(&first.attempt);
        assert!(
            service.sign_ins.is_empty(),
            "flow, token and state are all gone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = service
            .start_browser_sign_in(&options(), None)
            .await
            .expect("the same fixed port is free again");
        let err = service.finish_sign_in(&first.attempt).await.unwrap_err();
        assert!(err.message().contains("no longer running"));
        service.cancel_sign_in(&second.attempt);
    }

    #[tokio::test]
    async fn a_sign_in_nobody_finishes_expires_after_its_timeout() {
        let port = free_port();
        let (_tmp, service) = service_with_app(&format!("http://127.0.0.1:{port}/cb")).await;
        let started = service
            .start_browser_sign_in(&options(), Some(Duration::from_millis(200)))
            .await
            .unwrap();
        assert!(!service.sign_ins.is_empty());
        tokio::time::sleep(Duration::from_millis(200) + super::super::attempts::EXPIRY_MARGIN * 3)
            .await;
        assert!(service.sign_ins.is_empty());
        let err = service.finish_sign_in(&started.attempt).await.unwrap_err();
        assert!(err.message().contains("no longer running"));
        // The listener went with it.
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    }

    #[tokio::test]
    async fn confirming_needs_a_held_sign_in() {
        let (_tmp, service) = service_with_app("http://localhost/cb").await;
        let err = service.confirm_sign_in("nope").await.unwrap_err();
        assert!(err.message().contains("no longer waiting to be saved"));
        assert_eq!(service.sign_in_mismatch("nope"), None);
        let m = AccountMismatch {
            expected: "alice@contoso.test".into(),
            signed_in_as: "mallory@fabrikam.test".into(),
        };
        let e = mismatch_error(&m);
        assert!(is_account_mismatch(&e));
        assert_eq!(
            e.message(),
            "The sign-in was started for alice@contoso.test, but mallory@fabrikam.test signed in. Nothing was saved."
        );
        assert!(
            e.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("save it anyway")
        );
    }
}
