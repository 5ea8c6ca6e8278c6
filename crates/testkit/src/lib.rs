//! Test support: starts `tests/idp` (the local identity provider that imitates Microsoft's v2.0
//! endpoint) on a free port, reads its fixtures, drives its control API, and plays the browser
//! by following redirects from an authorization URL to the app's loopback listener.

#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub mod dovecot;
pub mod exchange;
pub mod graph;

/// The repository root: the first folder holding `tests/idp/server.mjs` above the package
/// under test (cargo sets `CARGO_MANIFEST_DIR` when it runs a test) or the working directory.
/// The path this crate was compiled at is the last resort: a target directory shared by two
/// clones keeps one build of this crate, compiled at whichever clone built it first.
pub fn repo_root() -> PathBuf {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()),
    ];
    starts
        .into_iter()
        .flatten()
        .find_map(|start| {
            start
                .ancestors()
                .find(|dir| dir.join("tests/idp/server.mjs").is_file())
                .map(Path::to_path_buf)
        })
        .and_then(|root| root.canonicalize().ok())
        .expect("repository root: no folder with tests/idp/server.mjs above the package under test")
}

/// A start normally takes well under a second; one that takes this long has hung.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running identity provider; stopped when dropped.
#[derive(Debug)]
pub struct Idp {
    /// The provider's process; `None` for one another program started ([`Idp::attach`]).
    child: Option<Child>,
    pub base: String,
    pub port: u16,
    pub fixtures: Value,
}

impl Idp {
    /// Starts the provider with extra environment (e.g. `IDP_ACCESS_TOKEN_TTL`).
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_on(0, env)
    }

    /// Starts on a given port (to restart "the same" provider after stopping it). A start that
    /// hangs (it normally takes well under a second) is retried once.
    pub fn start_on(port: u16, env: &[(&str, &str)]) -> Self {
        Self::try_start(port, env).unwrap_or_else(|| {
            Self::try_start(port, env).expect("the identity provider did not start")
        })
    }

    fn try_start(port: u16, env: &[(&str, &str)]) -> Option<Self> {
        let root = repo_root();
        let mut cmd = Command::new("node");
        cmd.arg(root.join("tests/idp/server.mjs"))
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("IDP_VERBOSE").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .expect("node is installed by scripts/setup.sh test");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(START_TIMEOUT) else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        let ready: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("idp ready line {line:?}: {e}"));
        let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("port fits");
        let base = ready["base"].as_str().expect("base").to_owned();
        let fixtures: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("tests/idp/fixtures.json")).expect("fixtures.json"),
        )
        .expect("fixtures JSON");
        Some(Self {
            child: Some(child),
            base,
            port,
            fixtures,
        })
    }

    /// A fixture value by JSON pointer, e.g. `/clients/public/client_id`.
    pub fn fixture(&self, pointer: &str) -> String {
        match self.fixtures.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => panic!("no fixture at {pointer}"),
        }
    }

    fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    pub fn get(&self, path: &str) -> Value {
        Self::http()
            .get(format!("{}{path}", self.base))
            .send()
            .expect("idp answers")
            .json()
            .expect("JSON")
    }

    pub fn post(&self, path: &str, body: &Value) -> Value {
        let r = Self::http()
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .expect("idp answers");
        r.json().unwrap_or(Value::Null)
    }

    pub fn delete(&self, path: &str) {
        Self::http()
            .delete(format!("{}{path}", self.base))
            .send()
            .expect("idp answers");
    }

    /// Every request the provider logged.
    pub fn log(&self) -> Vec<Value> {
        match self.get("/_control/log") {
            Value::Array(a) => a,
            other => other
                .get("entries")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Token-endpoint requests in the log.
    pub fn token_requests(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["endpoint"] == "token")
            .collect()
    }

    pub fn stop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A provider another program started (the end-to-end tests' own), at its base URL
    /// (`http://127.0.0.1:PORT`); it is left running when this is dropped.
    pub fn attach(base: &str) -> Self {
        let port = base
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .expect("a base URL with a port");
        let fixtures: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("tests/idp/fixtures.json"))
                .expect("fixtures.json"),
        )
        .expect("fixtures JSON");
        Self {
            child: None,
            base: base.trim_end_matches('/').to_owned(),
            port,
            fixtures,
        }
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the "browser" saw at the end of the redirects.
#[derive(Debug)]
pub struct BrowserResult {
    pub status: u16,
    pub url: String,
    pub body: String,
}

/// Plays the user's browser: opens the authorization URL and follows redirects until the last
/// page (the app's loopback "you can close this tab" page, or an error page).
pub fn browse(url: &str) -> BrowserResult {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(20))
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let r = client
        .get(url)
        .send()
        .expect("the browser leg reaches a page");
    BrowserResult {
        status: r.status().as_u16(),
        url: r.url().to_string(),
        body: r.text().unwrap_or_default(),
    }
}

/// One headless sign-in of `user` with the idp's confidential `web` client for `scope`
/// (space-separated); returns the token response (`access_token`, `refresh_token`, ...).
/// For tests that need a real token without the app (mail servers, mail programs).
pub fn sign_in_tokens(idp: &Idp, user: &str, scope: &str) -> Value {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let client_id = idp.fixture("/clients/web/client_id");
    let secret = idp.fixture("/clients/web/secrets/0/value");
    let redirect = "http://127.0.0.1:43917/callback";
    let mut url = reqwest::Url::parse(&format!("{}/common/oauth2/v2.0/authorize", idp.base))
        .expect("authorize URL");
    url.query_pairs_mut()
        .append_pair("client_id", &client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "s1")
        .append_pair("login_hint", user);
    let mut code = None;
    for _ in 0..10 {
        let r = http.get(url.clone()).send().expect("idp answers");
        let location = r
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect from {url}"))
            .to_str()
            .expect("ASCII location")
            .to_owned();
        url = url.join(&location).expect("location is a URL");
        if url.as_str().starts_with(redirect) {
            code = url
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
            break;
        }
    }
    let code = code.expect("a code came back");
    http.post(format!("{}/common/oauth2/v2.0/token", idp.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .expect("idp answers")
        .json()
        .expect("token JSON")
}

/// Revokes a token at the idp (RFC 7009; Microsoft has no such endpoint, but a revoked token
/// is what a mail server then sees after "revoke sessions").
pub fn revoke(idp: &Idp, token: &str) {
    let client_id = idp.fixture("/clients/web/client_id");
    let secret = idp.fixture("/clients/web/secrets/0/value");
    let status = reqwest::blocking::Client::new()
        .post(format!("{}/common/oauth2/v2.0/revoke", idp.base))
        .form(&[
            ("token", token),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .expect("idp answers")
        .status();
    assert!(status.is_success(), "revoke answered {status}");
}
