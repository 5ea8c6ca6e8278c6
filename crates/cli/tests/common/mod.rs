//! Shared by the CLI's integration tests: a data directory, the `mailconn` binary, the local
//! identity provider, and the browser leg of a sign-in.
#![allow(dead_code, reason = "each test crate uses a different part")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mailconn_testkit::{Idp, browse};
use serde_json::Value;

pub struct Env {
    pub idp: Idp,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new(idp_env: &[(&str, &str)]) -> Self {
        Self {
            idp: Idp::start(idp_env),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailconn"));
        c.arg("--data-dir")
            .arg(self.data())
            .env_remove("MAILCONN_KEYCHAIN")
            .env("MAILCONN_LOG", "debug");
        c
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = self.cmd();
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    /// `mailconn app add` for one of the provider's clients against the custom cloud.
    pub fn add_app(
        &self,
        name: &str,
        client: &str,
        tenant: &str,
        secret: Option<&str>,
        extra: &[&str],
    ) -> Output {
        self.add_app_with_graph(name, client, tenant, "http://127.0.0.1:9", secret, extra)
    }

    /// The provider's confidential app on Contoso, named `web`, with Graph at the stand-in, for
    /// sign-in and application access.
    pub fn add_web_app_with_graph(&self, graph: &mailconn_testkit::graph::Graph) -> Output {
        let secret = self.web_secret();
        self.add_app_with_graph(
            "web",
            "web",
            "contoso.test",
            graph.base(),
            Some(&secret),
            &["--usage", "both"],
        )
    }

    /// The same, with Microsoft Graph at `graph` (the Graph stand-in's base URL).
    pub fn add_app_with_graph(
        &self,
        name: &str,
        client: &str,
        tenant: &str,
        graph: &str,
        secret: Option<&str>,
        extra: &[&str],
    ) -> Output {
        let client_id = self.idp.fixture(&format!("/clients/{client}/client_id"));
        let mut args = vec![
            "app",
            "add",
            "--name",
            name,
            "--client-id",
            &client_id,
            "--tenant",
            tenant,
            "--authority-url",
            &self.idp.base,
            "--graph-url",
            graph,
        ];
        args.extend_from_slice(extra);
        if secret.is_some() {
            args.extend_from_slice(&["--secret-stdin", "--secret-expires", "2099-01-01"]);
        } else {
            args.push("--public");
        }
        let out = self.run(&args, secret);
        assert!(
            out.status.success(),
            "app add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `mailconn --json app test NAME`, parsed.
    pub fn test_app(&self, name: &str) -> Value {
        serde_json::from_slice(&self.run(&["--json", "app", "test", name], None).stdout).unwrap()
    }

    pub fn web_secret(&self) -> String {
        self.idp.fixture("/clients/web/secrets/0/value")
    }

    pub fn connect(&self, app: &str, login_hint: &str) -> (Output, Value) {
        let mut c = self.cmd();
        c.args([
            "--json",
            "connect",
            "--no-browser",
            "--app",
            app,
            "--login-hint",
            login_hint,
        ]);
        run_with_browser(c)
    }
}

/// Runs a `connect --no-browser` command, plays the browser for its `open:` link, and returns
/// the output (stdout without the `open:` line) and the parsed JSON result.
pub fn run_with_browser(mut c: Command) -> (Output, Value) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let url = line
        .strip_prefix("open: ")
        .unwrap_or_else(|| panic!("expected an open: line, got {line:?}"))
        .trim()
        .to_owned();
    let page = browse(&url);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = rest.into_bytes();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        page.status < 500,
        "browser leg ended with {} at {}: {}",
        page.status,
        page.url,
        page.body
    );
    (out, json)
}

pub fn secret_tool_lookup(account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "mailconn", "username", account])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

pub fn dir_contains(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_contains(&p, needle)
            } else {
                file_contains(&p, needle)
            }
        })
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
