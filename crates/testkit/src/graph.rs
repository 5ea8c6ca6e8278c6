//! Starts `tests/graph` (a small Microsoft Graph stand-in that checks every bearer token against
//! the test identity provider) on a free port, and drives its control API: request log, injected
//! faults, mailboxes denied to app-only tokens, the mailbox concurrency limit, sent mail.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Idp, repo_root};

/// A start normally takes well under a second; one that takes this long has hung.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running Graph stand-in; stopped when dropped.
#[derive(Debug)]
pub struct Graph {
    child: Child,
    base: String,
    pub port: u16,
}

impl Graph {
    /// Starts the server against a running identity provider. A start that hangs is retried once.
    pub fn start(idp: &Idp) -> Self {
        Self::try_start(&idp.base)
            .or_else(|| Self::try_start(&idp.base))
            .expect("the Graph stand-in did not start")
    }

    fn try_start(idp_base: &str) -> Option<Self> {
        let mut child = Command::new("node")
            .arg(repo_root().join("tests/graph/server.mjs"))
            .args(["--port", "0", "--idp", idp_base])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("GRAPH_VERBOSE").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
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
            .unwrap_or_else(|e| panic!("graph ready line {line:?}: {e}"));
        let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("port fits");
        let base = ready["base"].as_str().expect("base").to_owned();
        Some(Self { child, base, port })
    }

    /// `http://127.0.0.1:{port}`; Graph's paths go under it (`{base}/v1.0/me`).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    fn control(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut r = Self::http().request(method, format!("{}/_control{path}", self.base));
        if let Some(body) = body {
            r = r.json(body);
        }
        r.send()
            .expect("the Graph stand-in answers")
            .json()
            .unwrap_or(Value::Null)
    }

    /// `GET {base}{path}` with a bearer token: the status and the JSON body (Null when empty).
    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = Self::http()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .expect("the Graph stand-in answers");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    /// Every Graph request so far: `{t_start, t_sent, t_end, method, path, query, mailbox, app_id,
    /// auth, status, error_code, injected, throttled, token_cached, in_flight, ...}`.
    pub fn log(&self) -> Vec<Value> {
        match self.control(reqwest::Method::GET, "/log", None) {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }

    pub fn clear_log(&self) {
        self.control(reqwest::Method::DELETE, "/log", None);
    }

    /// Adds a fault, e.g. `json!({"status": 429, "retry_after": 2, "count": 1, "mailbox": "bob@contoso.test"})`
    /// or `json!({"delay_ms": 500, "path": "/messages$"})`. Returns it as registered (with its id).
    pub fn fault(&self, fault: &Value) -> Value {
        let out = self.control(reqwest::Method::POST, "/faults", Some(fault));
        assert!(out.get("error").is_none(), "fault refused: {out}");
        out
    }

    pub fn clear_faults(&self) {
        self.control(reqwest::Method::DELETE, "/faults", None);
    }

    /// App-only tokens get 403 `ErrorAccessDenied` (RAOP) for these mailboxes (added to any set before).
    pub fn access_denied(&self, mailboxes: &[&str]) {
        self.control(
            reqwest::Method::POST,
            "/access-denied",
            Some(&json!({ "mailboxes": mailboxes })),
        );
    }

    pub fn clear_access_denied(&self) {
        self.control(reqwest::Method::DELETE, "/access-denied", None);
    }

    /// Concurrent requests of one app to one mailbox above this answer 429 (Outlook's is 4).
    pub fn set_mailbox_concurrency(&self, limit: u32) {
        self.control(
            reqwest::Method::POST,
            "/limits",
            Some(&json!({ "mailbox_concurrency": limit })),
        );
    }

    /// `GET /_control{path}` (e.g. `/created`: the applications, service principals and consent
    /// grants created through Graph).
    pub fn control_get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, None)
    }

    /// `POST /_control{path}` with a JSON body (e.g. `/tenant-settings`, `/replication`).
    pub fn control_post(&self, path: &str, body: &Value) -> Value {
        let out = self.control(reqwest::Method::POST, path, Some(body));
        assert!(out.get("error").is_none(), "control refused: {out}");
        out
    }

    /// Messages accepted by `sendMail`.
    pub fn sent(&self) -> Vec<Value> {
        match self.control(reqwest::Method::GET, "/sent", None) {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Graph access token for the identity provider's confidential `web` app by client
/// credentials in a tenant (GUID or domain, e.g. `contoso.test`).
pub fn app_token(idp: &Idp, tenant: &str) -> String {
    let client_id = idp.fixture("/clients/web/client_id");
    let secret = idp.fixture("/clients/web/secrets/0/value");
    let r: Value = Graph::http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", idp.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .expect("idp answers")
        .json()
        .expect("JSON");
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {r}"))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "needs node; run scripts/test.sh"]
    fn graph_answers_users_with_a_client_credentials_token() {
        let idp = Idp::start(&[]);
        let graph = Graph::start(&idp);
        let token = app_token(&idp, "contoso.test");

        let (status, body) = graph.get("/v1.0/users?$select=id,userPrincipalName", &token);
        assert_eq!(status, 200, "{body}");
        let users = body["value"].as_array().expect("value");
        assert_eq!(users.len(), 66);
        assert!(
            users
                .iter()
                .any(|u| u["userPrincipalName"] == "alice@contoso.test")
        );

        let log = graph.log();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["auth"], "app");
        assert_eq!(log[0]["status"], 200);
        assert_eq!(log[0]["app_id"], idp.fixture("/clients/web/client_id"));
        graph.clear_log();
        assert!(graph.log().is_empty());

        graph.fault(&json!({"status": 503, "count": 1, "path": "^/v1\\.0/users$"}));
        let (status, body) = graph.get("/v1.0/users", &token);
        assert_eq!(status, 503);
        assert_eq!(body["error"]["code"], "ServiceNotAvailable");
        assert_eq!(graph.get("/v1.0/users", &token).0, 200);
        graph.clear_faults();

        graph.access_denied(&["bob@contoso.test"]);
        let (status, body) = graph.get(
            "/v1.0/users/bob@contoso.test/mailFolders/inbox/messages",
            &token,
        );
        assert_eq!(status, 403);
        assert_eq!(body["error"]["code"], "ErrorAccessDenied");
        graph.clear_access_denied();
        assert_eq!(
            graph
                .get(
                    "/v1.0/users/bob@contoso.test/mailFolders/inbox/messages",
                    &token
                )
                .0,
            200
        );
    }
}
