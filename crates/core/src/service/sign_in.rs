//! Signing a mailbox in, in two calls so that a shell can show the link or code while it waits:
//! `start_*` prepares the request (registration, scopes, tenant, secret) and begins the flow;
//! `finish_sign_in` waits for it, stores the connection and hands it to the engine;
//! `cancel_sign_in` stops the wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::Service;
use crate::connect::{ConnectOptions, Prepared, begin_device, complete_device, finish, prepare};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::flow::auth_code;
use crate::flow::device_code::{self, DeviceCode};

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

enum Flow {
    Browser(auth_code::Pending, Duration),
    Device(device_code::Pending),
}

struct Attempt {
    prepared: Prepared,
    flow: Flow,
}

/// Sign-ins in progress: the flow until someone waits for it, and its cancel token until it ends.
#[derive(Default)]
pub(super) struct SignIns {
    waiting: Mutex<HashMap<String, Attempt>>,
    cancels: Mutex<HashMap<String, CancellationToken>>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

impl SignIns {
    fn add(&self, prepared: Prepared, flow: Flow) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.cancels
            .lock()
            .expect("sign-ins poisoned")
            .insert(id.clone(), CancellationToken::new());
        self.waiting
            .lock()
            .expect("sign-ins poisoned")
            .insert(id.clone(), Attempt { prepared, flow });
        id
    }

    fn take(&self, attempt: &str) -> Option<(Attempt, CancellationToken)> {
        let taken = self
            .waiting
            .lock()
            .expect("sign-ins poisoned")
            .remove(attempt);
        let cancel = self
            .cancels
            .lock()
            .expect("sign-ins poisoned")
            .get(attempt)
            .cloned();
        taken.zip(cancel)
    }

    fn end(&self, attempt: &str) {
        self.cancels
            .lock()
            .expect("sign-ins poisoned")
            .remove(attempt);
    }

    fn cancel(&self, attempt: &str) {
        if let Some(cancel) = self.cancels.lock().expect("sign-ins poisoned").get(attempt) {
            cancel.cancel();
        }
        self.waiting
            .lock()
            .expect("sign-ins poisoned")
            .remove(attempt);
    }
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
        let attempt = self.sign_ins.add(prepared, Flow::Browser(pending, timeout));
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
        let attempt = self.sign_ins.add(prepared, Flow::Device(pending));
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
        let (connection, created) = self
            .blocking(move |store, keychain| finish(store, keychain, &prepared, &tokens, &identity))
            .await?;
        self.engine.connected(&connection.id)?;
        Ok(Connected {
            connection,
            created,
        })
    }

    /// Stops a sign-in that is starting or waiting; nothing happens for an unknown one.
    pub fn cancel_sign_in(&self, attempt: &str) {
        self.sign_ins.cancel(attempt);
    }
}
