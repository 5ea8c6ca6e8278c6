use std::sync::Arc;

use mailconn_core::Result;
use mailconn_core::application::AppTokenCache;
use mailconn_core::flow::deep_link::DeepLinks;
use mailconn_core::paths::DataDir;
use mailconn_core::secret::SecretStore;
use mailconn_core::store::Store;

/// What every command can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub data_dir: DataDir,
    pub store: Arc<Store>,
    pub secrets: Arc<dyn SecretStore>,
    /// The one HTTP client (rustls, no redirects, timeouts).
    pub http: reqwest::Client,
    /// Sign-ins waiting for a `mailconn://auth` redirect.
    pub deep_links: Arc<DeepLinks>,
    /// App-only tokens of application-access registrations, in memory.
    pub app_tokens: Arc<AppTokenCache>,
}

impl AppState {
    pub fn new(data_dir: DataDir, secrets: Arc<dyn SecretStore>) -> Result<Self> {
        let store = Arc::new(Store::open(&data_dir.database())?);
        Ok(Self {
            data_dir,
            store,
            secrets,
            http: mailconn_core::http::client(),
            deep_links: Arc::new(DeepLinks::new()),
            app_tokens: Arc::new(AppTokenCache::new()),
        })
    }
}
