use std::sync::{Arc, Mutex};

use mailconn_core::Result;
use mailconn_core::application::AppTokenCache;
use mailconn_core::clock::SystemClock;
use mailconn_core::engine::{Config, Engine};
use mailconn_core::flow::deep_link::DeepLinks;
use mailconn_core::keychain::Keychain;
use mailconn_core::paths::DataDir;
use mailconn_core::store::Store;
use tauri::ipc::Channel;
use tokio_util::sync::CancellationToken;

use crate::background::ConnectionEvent;

/// What every command can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub data_dir: DataDir,
    pub store: Arc<Store>,
    pub secrets: Arc<dyn Keychain>,
    /// The one HTTP client (rustls, no redirects, timeouts).
    pub http: reqwest::Client,
    /// Sign-ins waiting for a `mailconn://auth` redirect.
    pub deep_links: Arc<DeepLinks>,
    /// Keeps every connection alive; runs in the background until `shutdown`.
    pub engine: Arc<Engine>,
    pub shutdown: CancellationToken,
    /// Pages that asked to hear about connection changes.
    pub watchers: Arc<Watchers>,
    /// App-only tokens of application-access registrations, in memory.
    pub app_tokens: Arc<AppTokenCache>,
}

/// The UI's subscriptions to connection changes (`watch_connections`).
#[derive(Default)]
pub struct Watchers(Mutex<Vec<Channel<ConnectionEvent>>>);

impl std::fmt::Debug for Watchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchers").finish_non_exhaustive()
    }
}

impl Watchers {
    pub fn add(&self, channel: Channel<ConnectionEvent>) {
        self.0.lock().expect("watchers poisoned").push(channel);
    }

    /// Sends to every page still listening; forgets the ones that went away.
    pub fn send(&self, event: &ConnectionEvent) {
        self.0
            .lock()
            .expect("watchers poisoned")
            .retain(|c| c.send(event.clone()).is_ok());
    }
}

impl AppState {
    pub fn new(data_dir: DataDir, secrets: Arc<dyn Keychain>) -> Result<Self> {
        let store = Arc::new(Store::open(&data_dir.database())?);
        let http = mailconn_core::http::client();
        let app_tokens = Arc::new(AppTokenCache::new());
        let engine = Arc::new(
            Engine::new(
                store.clone(),
                secrets.clone(),
                http.clone(),
                Arc::new(SystemClock),
                data_dir.locks(),
                Config::from_env(),
            )
            .with_app_tokens(app_tokens.clone()),
        );
        Ok(Self {
            data_dir,
            store,
            secrets,
            http,
            deep_links: Arc::new(DeepLinks::new()),
            engine,
            shutdown: CancellationToken::new(),
            watchers: Arc::new(Watchers::default()),
            app_tokens,
        })
    }
}
