//! The mail bridge, `mailconn bridge` in the foreground, against real parts: a real Dovecot
//! (IMAP, POP and submission, TLS upstream from a local CA, every XOAUTH2 token introspected at
//! the test identity provider) as the upstream, and real programs that only know a password:
//! msmtp (`auth plain`) sends, `OfflineIMAP` (`LOGIN`) fetches, and Python's `imaplib`, `poplib`
//! and `smtplib` (`tests/bridge/clients.py`) try the edge cases: every login form, STARTTLS and
//! TLS from the start, wrong passwords (refused, delayed, never upstream), a removed password,
//! plain login turned off, 20 sessions at once, a 50 MB message, the loopback-only listener,
//! a token that expires between sessions, and a connection that can get no token. Run through
//! `scripts/test.sh`, or
//! `scripts/with-keyring.sh cargo test -p mailconn-cli --test bridge -- --include-ignored`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{Env, stderr};
use mailconn_testkit::dovecot::Dovecot;
use serde_json::{Value, json};

const ALICE: &str = "alice@contoso.test";
/// The failed-login delay's base in these tests (doubling per failure and source address).
const FAIL_DELAY_MS: u64 = 150;

/// The six listeners' ports of one bridge.
#[derive(Debug, Clone, Copy)]
struct Ports {
    imap: u16,
    imaps: u16,
    pop: u16,
    pops: u16,
    smtp: u16,
    smtps: u16,
}

impl Ports {
    /// Six different free ports (each held until all are picked).
    fn free() -> Self {
        let held: Vec<TcpListener> = (0..6)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let p: Vec<u16> = held
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        Self {
            imap: p[0],
            imaps: p[1],
            pop: p[2],
            pops: p[3],
            smtp: p[4],
            smtps: p[5],
        }
    }

    fn all(self) -> [u16; 6] {
        [
            self.imap, self.imaps, self.pop, self.pops, self.smtp, self.smtps,
        ]
    }

    fn args(self) -> Vec<String> {
        let names = [
            "--imap-port",
            "--imaps-port",
            "--pop-port",
            "--pops-port",
            "--smtp-port",
            "--smtps-port",
        ];
        names
            .iter()
            .zip(self.all())
            .flat_map(|(n, p)| [(*n).to_owned(), p.to_string()])
            .collect()
    }
}

/// `mailconn bridge` running in the foreground; stopped with SIGTERM when dropped.
struct Bridge {
    child: Child,
    ports: Ports,
    /// What it printed up to `ready`.
    lines: Vec<String>,
    log: PathBuf,
}

impl Bridge {
    fn start(env: &Env, dovecot: &Dovecot, extra: &[(&str, &str)]) -> Self {
        let ports = Ports::free();
        let log = env.dir.path().join(format!("bridge-{}.log", ports.imap));
        let mut c = env.cmd();
        c.arg("bridge")
            .args(ports.args())
            .env("MAILCONN_TEST_CA_FILE", dovecot.ca_file())
            .env("MAILCONN_BRIDGE_FAIL_DELAY_MS", FAIL_DELAY_MS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut lines = Vec::new();
        loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                panic!(
                    "the bridge did not say ready: {lines:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if line == "ready" {
                break;
            }
            lines.push(line);
        }
        // The rest of its output is drained (and dropped) by the thread.
        Self {
            child,
            ports,
            lines,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as systemd stops it; its exit status.
    fn stop(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the bridge did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.stop();
        }
    }
}

/// A mail-programs app on this Dovecot, TLS upstream (IMAP and POP with TLS from the start,
/// submission with STARTTLS; the local CA is trusted through `MAILCONN_TEST_CA_FILE`), and
/// Alice signed in to it.
fn setup(env: &Env, dovecot: &Dovecot) {
    let imap = format!("localhost:{}", dovecot.imaps_port);
    let pop = format!("localhost:{}", dovecot.pops_port);
    let smtp = format!("starttls://localhost:{}", dovecot.submission_port);
    env.add_app(
        "mail",
        "web",
        "contoso.test",
        Some(&env.web_secret()),
        &[
            "--preset",
            "mail-programs",
            "--imap-server",
            &imap,
            "--pop-server",
            &pop,
            "--smtp-server",
            &smtp,
        ],
    );
    let (out, _) = env.connect("mail", ALICE);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `mailconn bridge password add`: the password, alone on the last line.
fn add_password(env: &Env, program: &str) -> String {
    let out = env.run(
        &["bridge", "password", "add", ALICE, "--program", program],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("User name: alice@contoso.test"), "{text}");
    let password = text.lines().last().unwrap().to_owned();
    assert_eq!(password.len(), 28, "{text}");
    assert!(
        password.chars().all(|c| c.is_ascii_alphanumeric()),
        "{text}"
    );
    password
}

/// The bridge's certificate as a file, for the programs' trust settings.
fn certificate(env: &Env) -> PathBuf {
    let out = env.run(&["bridge", "certificate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let file = env.dir.path().join("bridge.pem");
    std::fs::write(&file, pem).unwrap();
    file
}

fn clients_py() -> PathBuf {
    mailconn_testkit::repo_root().join("tests/bridge/clients.py")
}

/// One run of `tests/bridge/clients.py`: its JSON answer.
fn py(args: &[&str]) -> Value {
    let out = Command::new("/usr/bin/python3")
        .arg(clients_py())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    assert!(
        out.status.success(),
        "clients.py {args:?}: {text}\n{}",
        stderr(&out)
    );
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A client's command line: protocol, port, security, login form, password.
struct Client<'a> {
    cafile: &'a Path,
    host: &'a str,
}

impl Client<'_> {
    fn run(&self, cmd: &str, port: u16, security: &str, how: &str, password: &str) -> Value {
        self.run_with(cmd, port, security, how, ALICE, password, &[])
    }

    #[allow(clippy::too_many_arguments)]
    fn run_with(
        &self,
        cmd: &str,
        port: u16,
        security: &str,
        how: &str,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Value {
        let port = port.to_string();
        let cafile = self.cafile.to_str().unwrap();
        let mut args = vec![
            cmd,
            "--host",
            self.host,
            "--port",
            &port,
            "--security",
            security,
            "--how",
            how,
            "--user",
            user,
            "--password",
            password,
            "--cafile",
            cafile,
        ];
        args.extend_from_slice(extra);
        py(&args)
    }
}

fn said(v: &Value) -> &str {
    v["said"].as_str().unwrap_or_default()
}

/// A program started with a HOME of its own.
fn program(home: &Path, exe: &str) -> Command {
    let mut c = Command::new(exe);
    c.env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(mut c: Command, input: &str) -> std::process::Output {
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// msmtp with `auth plain` and its password from `passwordeval`, STARTTLS trusting the
/// bridge's certificate, sends; the message reaches the sink behind Dovecot's submission.
fn msmtp_sends(bridge: &Bridge, dovecot: &Dovecot, cert: &Path, password: &str, home: &Path) {
    let pass_file = home.join("msmtp-password");
    std::fs::write(&pass_file, format!("{password}\n")).unwrap();
    let rc = format!(
        "defaults\nlogfile {log}\n\naccount bridge\nhost 127.0.0.1\nport {port}\ntls on\n\
         tls_starttls on\ntls_trust_file {cert}\nauth plain\nuser {ALICE}\n\
         passwordeval \"cat {pass}\"\nfrom {ALICE}\n\naccount default : bridge\n",
        log = home.join("msmtp.log").display(),
        port = bridge.ports.smtp,
        cert = cert.display(),
        pass = pass_file.display(),
    );
    let rc_file = home.join("msmtprc");
    std::fs::write(&rc_file, rc).unwrap();
    std::fs::set_permissions(
        &rc_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut msmtp = program(home, "msmtp");
    msmtp.arg("--file").arg(&rc_file).arg("-t");
    let out = finish(
        msmtp,
        &format!(
            "From: {ALICE}\nTo: bob@contoso.test\nSubject: Through msmtp and the bridge\n\nHello from msmtp.\n"
        ),
    );
    assert!(
        out.status.success(),
        "msmtp: {}\n{}\n{}",
        stderr(&out),
        bridge.log(),
        dovecot.log()
    );
    assert!(
        dovecot
            .relayed()
            .iter()
            .any(|m| m.contains("Subject: Through msmtp and the bridge")),
        "submission relayed msmtp's message"
    );
}

/// `OfflineIMAP` with a plain password (`LOGIN`, over the bridge's TLS port, checking its
/// certificate by the name `localhost`: `OfflineIMAP` matches DNS names only) fetches a delivered
/// message. Its STARTTLS is not used here: the capability refresh of `OfflineIMAP` 8.0 right
/// after STARTTLS races its own reader thread and now and then hangs until the server's login
/// timeout, whatever the server; STARTTLS is covered by msmtp and Python below.
fn offlineimap_fetches(
    bridge: &Bridge,
    dovecot: &Dovecot,
    cert: &Path,
    password: &str,
    home: &Path,
) {
    dovecot.deliver(
        ALICE,
        "From: bob@contoso.test\nTo: alice@contoso.test\nSubject: Waiting for OfflineIMAP\n\nHi.\n",
    );
    let mail = home.join("Mail");
    let rc = format!(
        "[general]\naccounts = bridge\n\n[Account bridge]\nlocalrepository = local\n\
         remoterepository = remote\n\n[Repository local]\ntype = Maildir\nlocalfolders = {mail}\n\n\
         [Repository remote]\ntype = IMAP\nremotehost = localhost\nremoteport = {port}\n\
         remoteuser = {ALICE}\nremotepass = {password}\nssl = yes\nstarttls = no\n\
         sslcacertfile = {cert}\nauth_mechanisms = LOGIN\nfolderfilter = lambda f: f == 'INBOX'\n",
        mail = mail.display(),
        port = bridge.ports.imaps,
        cert = cert.display(),
    );
    let rc_file = home.join("offlineimaprc");
    std::fs::write(&rc_file, rc).unwrap();
    let mut offlineimap = program(home, "offlineimap");
    offlineimap
        .arg("-c")
        .arg(&rc_file)
        .args(["-o", "-u", "basic"]);
    let out = finish(offlineimap, "");
    let inbox = mail.join("INBOX");
    let found = ["new", "cur"].iter().any(|sub| {
        std::fs::read_dir(inbox.join(sub)).is_ok_and(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path())
                    .is_ok_and(|t| t.contains("Subject: Waiting for OfflineIMAP"))
            })
        })
    });
    assert!(
        found,
        "OfflineIMAP fetched the message: {}\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out),
        bridge.log(),
        dovecot.log()
    );
}

/// Every login form of each protocol, on the STARTTLS and the TLS listeners.
fn every_login_form_works(bridge: &Bridge, client: &Client, password: &str) {
    let p = bridge.ports;
    for (security, port) in [("starttls", p.imap), ("tls", p.imaps), ("plain", p.imap)] {
        for how in ["login", "literal", "plain", "plain-ir", "sasl-login"] {
            let v = client.run_with("imap", port, security, how, ALICE, password, &["--select"]);
            assert_eq!(v["ok"], true, "IMAP {how} over {security}: {v}");
            assert_eq!(v["select"], "OK", "IMAP {how} over {security}: {v}");
            let caps = v["capabilities"].to_string();
            assert!(caps.contains("AUTH=PLAIN"), "{caps}");
            // imaplib asks again after STARTTLS: offered only before TLS.
            assert_eq!(caps.contains("STARTTLS"), security == "plain", "{caps}");
        }
    }
    for (security, port) in [("starttls", p.pop), ("tls", p.pops)] {
        for how in ["user", "plain", "sasl-login"] {
            let v = client.run_with("pop", port, security, how, ALICE, password, &["--stat"]);
            assert_eq!(v["ok"], true, "POP {how} over {security}: {v}");
            assert!(said(&v).starts_with("+OK"), "{v}");
            assert!(v["stat"][0].as_u64().unwrap() >= 1, "{v}");
        }
    }
    for (security, port, how) in [("starttls", p.smtp, "login"), ("tls", p.smtps, "plain")] {
        let subject = format!("smtplib AUTH {how} over {security}");
        let v = client.run_with(
            "smtp",
            port,
            security,
            how,
            ALICE,
            password,
            &["--send", "bob@contoso.test", "--subject", &subject],
        );
        assert_eq!(v["ok"], true, "SMTP {how} over {security}: {v}");
        assert_eq!(v["code"], 235, "{v}");
        assert_eq!(v["sent"], true, "{v}");
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// What upstream saw: introspections and token requests at the identity provider, and the
/// logins and failed authentications in Dovecot's log.
fn upstream_seen(env: &Env, dovecot: &Dovecot) -> Value {
    let log = env.idp.log();
    let n = |endpoint: &str| log.iter().filter(|e| e["endpoint"] == endpoint).count();
    let dlog = dovecot.log();
    json!({
        "introspections": n("introspect"),
        "token_requests": n("token"),
        "dovecot_logins": count(&dlog, "Login: user="),
        "dovecot_auth_failures": count(&dlog, "auth failed") + count(&dlog, "Authentication failed"),
    })
}

/// Wrong passwords are refused in each protocol's words, after a delay that grows per source
/// address, and never reach Dovecot or the identity provider.
fn wrong_passwords_are_refused_delayed_and_kept_local(
    env: &Env,
    dovecot: &Dovecot,
    bridge: &Bridge,
    client: &Client,
    password: &str,
) {
    let p = bridge.ports;
    let before = upstream_seen(env, dovecot);
    // A password of the right shape with its secret part wrong, then one of another shape.
    let mut wrong = password.to_owned();
    wrong.replace_range(27.., if password.ends_with('x') { "y" } else { "x" });
    let v = client.run_with(
        "imap",
        p.imap,
        "starttls",
        "login",
        ALICE,
        &wrong,
        &["--twice"],
    );
    assert_eq!(v["ok"], false, "{v}");
    assert!(said(&v).contains("[AUTHENTICATIONFAILED]"), "{v}");
    assert_eq!(v["second"]["ok"], false, "{v}");
    assert!(said(&v["second"]).contains("[AUTHENTICATIONFAILED]"), "{v}");
    let (first, second) = (
        v["seconds"].as_f64().unwrap(),
        v["second"]["seconds"].as_f64().unwrap(),
    );
    eprintln!(
        "failed-login delay (base {FAIL_DELAY_MS} ms): first {:.0} ms, second {:.0} ms",
        first * 1000.0,
        second * 1000.0
    );
    #[allow(clippy::cast_precision_loss)]
    let base = FAIL_DELAY_MS as f64 / 1000.0;
    // Lower bounds only (a delay never ends early): the first waits the base, the second
    // (doubled) clearly longer.
    assert!(
        first >= base,
        "the first failure waited the base delay: {v}"
    );
    assert!(
        second > 1.5 * base,
        "the second failure waited longer than the base delay: {v}"
    );
    let v = client.run("pop", p.pop, "starttls", "user", "hunter2");
    assert_eq!(v["ok"], false, "{v}");
    assert!(said(&v).starts_with("-ERR [AUTH]"), "{v}");
    let pop = v["seconds"].as_f64().unwrap();
    // The right password for another user: the same answer.
    let v = client.run_with(
        "smtp",
        p.smtp,
        "starttls",
        "plain",
        "bob@contoso.test",
        password,
        &[],
    );
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["code"], 535, "{v}");
    assert!(said(&v).starts_with("5.7.8"), "{v}");
    eprintln!(
        "failed-login delay: POP (third failure) {:.0} ms, SMTP (fourth) {:.0} ms",
        pop * 1000.0,
        v["seconds"].as_f64().unwrap() * 1000.0
    );
    assert_eq!(
        upstream_seen(env, dovecot),
        before,
        "no wrong login reached upstream\n{}",
        dovecot.log()
    );
}

/// A removed password stops at once: a new login is refused, and a session logged in with it
/// is closed.
fn a_removed_password_stops_at_once(env: &Env, bridge: &Bridge, client: &Client) {
    let password = add_password(env, "Removed later");
    let mut hold = Command::new("/usr/bin/python3")
        .arg(clients_py())
        .args(["hold", "--port", &bridge.ports.imaps.to_string()])
        .args([
            "--security",
            "tls",
            "--user",
            ALICE,
            "--password",
            &password,
        ])
        .arg("--cafile")
        .arg(client.cafile)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdin, lines) = hold_lines(&mut hold);
    let ready: Value =
        serde_json::from_str(&lines.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    assert_eq!(ready["ready"], true, "{ready}");

    let out = env.run(
        &[
            "bridge",
            "password",
            "remove",
            ALICE,
            "--program",
            "Removed later",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = client.run("imap", bridge.ports.imap, "starttls", "login", &password);
    assert_eq!(v["ok"], false, "{v}");
    assert!(said(&v).contains("[AUTHENTICATIONFAILED]"), "{v}");

    writeln!(stdin, "go").unwrap();
    let done: Value =
        serde_json::from_str(&lines.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    let _ = hold.wait();
    eprintln!(
        "a session of a password removed by another process ended after {:.2} s",
        done["seconds"].as_f64().unwrap_or_default()
    );
    assert_eq!(
        done["closed"],
        true,
        "the live session was closed: {done}\n{}",
        bridge.log()
    );
}

fn hold_lines(child: &mut Child) -> (ChildStdin, Receiver<String>) {
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (stdin, rx)
}

/// 20 IMAP sessions log in and open the inbox at once.
fn twenty_sessions_at_once(bridge: &Bridge, client: &Client, password: &str) {
    let v = client.run_with(
        "many",
        bridge.ports.imaps,
        "tls",
        "login",
        ALICE,
        password,
        &["--count", "20"],
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 20);
    let failed: Vec<_> = results.iter().filter(|r| r["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:?}\n{}", bridge.log());
    eprintln!(
        "20 concurrent IMAP logins + SELECT over TLS: {:.2} s",
        v["seconds"].as_f64().unwrap()
    );
}

/// This machine's first address that is not loopback (`hostname -I`).
fn non_loopback_address() -> Option<IpAddr> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
}

/// Without the opt-in, nothing listens on the machine's other addresses.
fn listeners_are_on_loopback_only(bridge: &Bridge) {
    let Some(ip) = non_loopback_address() else {
        eprintln!("note: this machine has no non-loopback IPv4 address; the check was skipped");
        return;
    };
    // The address is reachable from here: a listener on every address answers on it.
    let control = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = control.local_addr().unwrap().port();
    assert!(
        TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(5)).is_ok(),
        "{ip} is reachable from this machine"
    );
    for port in bridge.ports.all() {
        let e = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(5))
            .expect_err("the bridge does not listen on the network address");
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{ip}:{port}"
        );
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok(), "{port}");
    }
}

/// A 50 MB message goes through the bridge's SMTP, Dovecot's submission and the sink, is put
/// into the inbox, and comes back over the bridge's IMAP with the same SHA-256.
fn fifty_megabytes_go_and_come_back(
    bridge: &Bridge,
    dovecot: &Dovecot,
    client: &Client,
    password: &str,
) {
    let subject = "Fifty megabytes through the bridge";
    let size = (50 * 1024 * 1024).to_string();
    let sent = client.run_with(
        "smtp",
        bridge.ports.smtp,
        "starttls",
        "plain",
        ALICE,
        password,
        &["--send", ALICE, "--subject", subject, "--size", &size],
    );
    assert_eq!(
        sent["sent"],
        true,
        "{sent}\n{}\n{}",
        bridge.log(),
        dovecot.log()
    );
    let relayed = dovecot
        .relayed()
        .into_iter()
        .find(|m| m.contains(&format!("Subject: {subject}")))
        .expect("the sink has the message");
    dovecot.deliver(ALICE, &relayed.replace("\r\n", "\n"));
    drop(relayed);
    let fetched = client.run_with(
        "imap",
        bridge.ports.imaps,
        "tls",
        "login",
        ALICE,
        password,
        &["--fetch", subject],
    );
    assert_eq!(fetched["found"], 1, "{fetched}");
    assert!(
        fetched["bytes"].as_u64().unwrap() > 50 * 1024 * 1024,
        "{fetched}"
    );
    assert_eq!(fetched["sha256"], sent["sha256"], "{fetched} {sent}");
    eprintln!(
        "50 MB: SMTP DATA through the bridge {:.2} s",
        sent["send_seconds"].as_f64().unwrap()
    );
}

/// `mailconn bridge settings ...`, which must succeed.
fn bridge_settings(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["bridge", "settings"];
    all.extend_from_slice(args);
    let out = env.run(&all, None);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Logins tried before STARTTLS on the STARTTLS listeners, from `host`.
fn before_tls(host: &str, p: Ports, password: &str) -> Value {
    py(&[
        "before-tls",
        "--host",
        host,
        "--imap",
        &p.imap.to_string(),
        "--pop",
        &p.pop.to_string(),
        "--smtp",
        &p.smtp.to_string(),
        "--user",
        ALICE,
        "--password",
        password,
    ])
}

/// Every protocol refused a login before STARTTLS in its own words, and offered none.
fn refused_before_tls(v: &Value) {
    let caps = v["imap_capabilities"].to_string();
    assert!(caps.contains("LOGINDISABLED"), "{v}");
    assert!(!caps.contains("AUTH=PLAIN"), "{v}");
    assert!(
        v["imap_login"]
            .as_str()
            .unwrap()
            .starts_with("NO [PRIVACYREQUIRED]"),
        "{v}"
    );
    assert!(
        v["pop_user"].as_str().unwrap().starts_with("-ERR [AUTH]"),
        "{v}"
    );
    assert!(!v["pop_capa"].to_string().contains("USER"), "{v}");
    assert!(
        v["smtp_auth"].as_str().unwrap().starts_with("530 5.7.0"),
        "{v}"
    );
    assert!(!v["smtp_features"].to_string().contains("auth"), "{v}");
}

/// With plain login turned off (`mailconn bridge settings --allow-plain off`), the STARTTLS
/// listeners refuse a login before STARTTLS in each protocol's words, and take it after.
fn plain_login_off_requires_tls(env: &Env, dovecot: &Dovecot, client: &Client, password: &str) {
    let text = bridge_settings(env, &["--allow-plain", "off"]);
    assert!(
        text.contains("plain login on this computer: off (TLS required)"),
        "{text}"
    );
    let bridge = Bridge::start(env, dovecot, &[]);
    let p = bridge.ports;
    refused_before_tls(&before_tls("127.0.0.1", p, password));
    // After STARTTLS (and over TLS from the start) the same logins work.
    for (cmd, port, security, how) in [
        ("imap", p.imap, "starttls", "login"),
        ("pop", p.pop, "starttls", "user"),
        ("smtp", p.smtp, "starttls", "plain"),
        ("imap", p.imaps, "tls", "login"),
    ] {
        let v = client.run(cmd, port, security, how, password);
        assert_eq!(v["ok"], true, "{cmd} over {security}: {v}");
    }
    bridge_settings(env, &["--allow-plain", "on"]);
}

/// The office-network opt-in: the listeners are on that address too; a device on the
/// allowlist must use TLS (even with plain login allowed on loopback) and then logs in; one
/// not on it is cut off before a byte.
fn the_office_network_opt_in(env: &Env, dovecot: &Dovecot, password: &str) {
    let Some(ip) = non_loopback_address() else {
        eprintln!("note: no non-loopback IPv4 address; the office-network check was skipped");
        return;
    };
    let ip = ip.to_string();
    let text = bridge_settings(env, &["--network", &ip, "--allow", &ip]);
    assert!(text.contains(&format!("office network: {ip}")), "{text}");
    // The certificate now names the address as well.
    let cert = certificate(env);
    let bridge = Bridge::start(env, dovecot, &[]);
    let p = bridge.ports;
    for port in p.all() {
        assert!(
            bridge
                .lines
                .iter()
                .any(|l| l.starts_with("listening: ") && l.ends_with(&format!(" {ip}:{port}"))),
            "{port} on {ip}: {:?}",
            bridge.lines
        );
    }
    refused_before_tls(&before_tls(&ip, p, password));
    let client = Client {
        cafile: &cert,
        host: &ip,
    };
    for (cmd, port, security, how) in [
        ("imap", p.imap, "starttls", "login"),
        ("imap", p.imaps, "tls", "plain"),
        ("pop", p.pops, "tls", "user"),
        ("smtp", p.smtp, "starttls", "login"),
    ] {
        let v = client.run(cmd, port, security, how, password);
        assert_eq!(v["ok"], true, "{cmd} over {security} from {ip}: {v}");
    }
    drop(bridge);

    // Not on the allowlist: the connection is closed without a greeting.
    bridge_settings(env, &["--network", &ip, "--allow", "198.51.100.7"]);
    let bridge = Bridge::start(env, dovecot, &[]);
    let mut far = TcpStream::connect((ip.as_str(), bridge.ports.imap)).unwrap();
    far.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut far, &mut buf).unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf[..n]));
    let mut near = TcpStream::connect(("127.0.0.1", bridge.ports.imap)).unwrap();
    let n = std::io::Read::read(&mut near, &mut buf).unwrap();
    assert!(buf[..n].starts_with(b"* OK"), "loopback is still served");
    drop(bridge);
    bridge_settings(env, &["--no-network"]);
}

#[test]
#[ignore = "needs the test identity provider (node), Dovecot, msmtp, OfflineIMAP, Python and a Secret Service: run scripts/test.sh"]
fn programs_that_only_know_a_password_work_through_the_bridge() {
    let env = Env::new(&[]);
    let dovecot = Dovecot::start(&env.idp);
    setup(&env, &dovecot);
    let msmtp_password = add_password(&env, "msmtp");
    let offlineimap_password = add_password(&env, "OfflineIMAP");
    let python = add_password(&env, "Python");
    let cert = certificate(&env);
    let home = tempfile::tempdir().unwrap();

    let mut bridge = Bridge::start(&env, &dovecot, &[]);
    let p = bridge.ports;
    for expected in [
        format!("listening: IMAP STARTTLS 127.0.0.1:{}", p.imap),
        format!("listening: IMAP SSL/TLS 127.0.0.1:{}", p.imaps),
        format!("listening: POP STARTTLS 127.0.0.1:{}", p.pop),
        format!("listening: POP SSL/TLS 127.0.0.1:{}", p.pops),
        format!("listening: SMTP STARTTLS 127.0.0.1:{}", p.smtp),
        format!("listening: SMTP SSL/TLS 127.0.0.1:{}", p.smtps),
    ] {
        assert!(
            bridge.lines.contains(&expected),
            "{expected}: {:?}",
            bridge.lines
        );
    }
    let client = Client {
        cafile: &cert,
        host: "127.0.0.1",
    };

    msmtp_sends(&bridge, &dovecot, &cert, &msmtp_password, home.path());
    offlineimap_fetches(&bridge, &dovecot, &cert, &offlineimap_password, home.path());
    every_login_form_works(&bridge, &client, &python);
    wrong_passwords_are_refused_delayed_and_kept_local(&env, &dovecot, &bridge, &client, &python);
    a_removed_password_stops_at_once(&env, &bridge, &client);
    twenty_sessions_at_once(&bridge, &client, &python);
    listeners_are_on_loopback_only(&bridge);
    fifty_megabytes_go_and_come_back(&bridge, &dovecot, &client, &python);

    // Each program's use is counted on its own password.
    let out = env.run(&["--json", "bridge", "password", "list", ALICE], None);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let uses = |program: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["program"] == program)
            .unwrap_or_else(|| panic!("{program} in {list:#}"))["use_count"]
            .as_u64()
            .unwrap()
    };
    assert!(uses("msmtp") >= 1 && uses("OfflineIMAP") >= 1, "{list:#}");
    assert!(uses("Python") >= 20, "{list:#}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| p["program"] != "Removed later"),
        "{list:#}"
    );
    let history = String::from_utf8_lossy(&env.run(&["history", ALICE], None).stdout).into_owned();
    assert!(
        history.contains("msmtp logged in through the bridge over SMTP"),
        "{history}"
    );

    let status = bridge.stop();
    assert!(status.success(), "{status}\n{}", bridge.log());
    assert!(
        bridge.log().contains("The bridge stopped."),
        "{}",
        bridge.log()
    );
    drop(bridge);
    plain_login_off_requires_tls(&env, &dovecot, &client, &python);
    the_office_network_opt_in(&env, &dovecot, &python);

    // The passwords were shown once: the database, the app's logs and the bridge's output
    // (debug level) hold none of them.
    for password in [&msmtp_password, &offlineimap_password, &python] {
        assert!(
            !common::dir_contains(env.dir.path(), password),
            "a bridge password was written down"
        );
    }
}

#[test]
#[ignore = "needs the test identity provider (node), Dovecot, Python and a Secret Service: run scripts/test.sh"]
fn tokens_that_expire_between_sessions_are_renewed_and_no_token_is_a_temporary_failure() {
    // Access tokens live 6 s; the bridge's engine refreshes a second before expiry.
    let env = Env::new(&[("IDP_ACCESS_TOKEN_TTL", "6")]);
    let dovecot = Dovecot::start(&env.idp);
    setup(&env, &dovecot);
    let password = add_password(&env, "Printer");
    let cert = certificate(&env);
    let bridge = Bridge::start(
        &env,
        &dovecot,
        &[
            ("MAILCONN_REFRESH_MARGIN_SECS", "1"),
            ("MAILCONN_BRIDGE_KEEP_SECS", "1"),
        ],
    );
    let client = Client {
        cafile: &cert,
        host: "127.0.0.1",
    };
    let p = bridge.ports;
    let refreshes = || {
        env.idp
            .token_requests()
            .iter()
            .filter(|e| e["grant_type"] == "refresh_token")
            .count()
    };

    let v = client.run("imap", p.imap, "plain", "login", &password);
    assert_eq!(v["ok"], true, "{v}\n{}", bridge.log());
    let first = refreshes();
    // Past the token's lifetime: Dovecot would refuse it; a new session still logs in.
    std::thread::sleep(Duration::from_secs(7));
    for (cmd, port, how) in [
        ("imap", p.imap, "login"),
        ("pop", p.pop, "user"),
        ("smtp", p.smtp, "plain"),
    ] {
        let v = client.run(cmd, port, "plain", how, &password);
        assert_eq!(
            v["ok"],
            true,
            "{cmd} after expiry: {v}\n{}\n{}",
            bridge.log(),
            dovecot.log()
        );
    }
    assert!(refreshes() > first, "a new token was had");
    eprintln!(
        "refreshes while the bridge ran 7 s with 6 s tokens: {}",
        refreshes() - first
    );

    // The user's refresh tokens are revoked: once the access token runs out, there is none.
    env.idp
        .post("/_control/users/alice@contoso.test/revoke", &json!({}));
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let v = client.run("imap", p.imap, "plain", "login", &password);
        if v["ok"] == false {
            break v;
        }
        assert!(Instant::now() < deadline, "still served: {v}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(said(&refused).contains("[UNAVAILABLE]"), "{refused}");
    eprintln!("IMAP without a token: {}", said(&refused));
    let v = client.run("pop", p.pop, "plain", "user", &password);
    assert!(said(&v).starts_with("-ERR [SYS/TEMP]"), "{v}");
    let v = client.run("smtp", p.smtp, "plain", "plain", &password);
    assert_eq!(v["code"], 454, "{v}");
    assert!(said(&v).starts_with("4.7.0"), "{v}");

    let history = String::from_utf8_lossy(&env.run(&["history", ALICE], None).stdout).into_owned();
    assert!(
        history.contains("Printer could not be served over IMAP"),
        "{history}"
    );
    assert!(
        bridge
            .log()
            .contains("The bridge cannot reach alice@contoso.test"),
        "the notification: {}",
        bridge.log()
    );
}
