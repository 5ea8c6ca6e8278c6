//! A real Dovecot (Debian `dovecot-imapd`, `dovecot-pop3d`, `dovecot-submissiond`) for the mail
//! protocol tests: IMAP, POP and submission on free loopback ports, plain and TLS (a local CA made
//! with `openssl`, whose certificate tests trust through `MAILCONN_TEST_CA_FILE`), XOAUTH2 and
//! OAUTHBEARER checked by an `oauth2` passdb that introspects every token at `tests/idp`
//! (`username_attribute = email`: the XOAUTH2 user must be the token's `email` claim), and an
//! SMTP sink (`aiosmtpd`, Debian `python3-aiosmtpd`) that submission relays to, keeping each
//! message as a file. Everything lives in a temporary directory; dropped: stopped and removed.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Idp;

/// The user Dovecot reads and delivers mail as (the mail directory must be outside `/root`).
const MAIL_UID: u32 = 65534;
const MAIL_GID: u32 = 65534;
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest message the sink takes, bytes (above submission's `submission_max_mail_size`).
const SINK_MAX_SIZE: &str = "134217728";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running Dovecot with its SMTP sink.
#[derive(Debug)]
pub struct Dovecot {
    master: Child,
    sink: Child,
    dir: PathBuf,
    /// IMAP without TLS.
    pub imap_port: u16,
    /// IMAP with TLS from the start.
    pub imaps_port: u16,
    pub pop_port: u16,
    pub pops_port: u16,
    /// Submission: plain greeting, STARTTLS offered.
    pub submission_port: u16,
    pub sink_port: u16,
}

impl Dovecot {
    /// Starts Dovecot against the identity provider (its `web` client introspects tokens).
    pub fn start(idp: &Idp) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mailconn-dovecot-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        // Dovecot's unprivileged processes and the mail user must reach their parts.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).expect("mail dir");
        std::os::unix::fs::chown(&mail, Some(MAIL_UID), Some(MAIL_GID)).expect("chown mail");
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o700)).expect("mode");
        make_certificates(&dir);

        let sink_port = free_port();
        let sink_dir = dir.join("sink");
        let sink = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{sink_port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // Room for the bridge's 50 MB message (aiosmtpd's default limit is 32 MiB).
            .args(["-s", SINK_MAX_SIZE])
            .arg(&sink_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed by scripts/setup.sh test");

        let ports = Ports {
            imap: free_port(),
            imaps: free_port(),
            pop: free_port(),
            pops: free_port(),
            submission: free_port(),
            sink: sink_port,
        };
        let client = idp.fixture("/clients/web/client_id");
        let secret = idp.fixture("/clients/web/secrets/0/value");
        std::fs::write(
            dir.join("oauth2.conf.ext"),
            format!(
                "introspection_mode = post\n\
                 introspection_url = http://{client}:{secret}@127.0.0.1:{}/common/oauth2/v2.0/introspect\n\
                 force_introspection = yes\n\
                 username_attribute = email\n\
                 active_attribute = active\n\
                 active_value = true\n",
                idp.port
            ),
        )
        .expect("oauth2 args");
        std::fs::write(dir.join("dovecot.conf"), config(&dir, &ports)).expect("dovecot.conf");
        let master = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("DOVECOT_VERBOSE").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("dovecot is installed by scripts/setup.sh test");
        let me = Self {
            master,
            sink,
            dir,
            imap_port: ports.imap,
            imaps_port: ports.imaps,
            pop_port: ports.pop,
            pops_port: ports.pops,
            submission_port: ports.submission,
            sink_port,
        };
        for port in [
            ports.imap,
            ports.imaps,
            ports.pop,
            ports.pops,
            ports.submission,
        ] {
            wait_for_port(port, "dovecot");
        }
        wait_for_port(sink_port, "the SMTP sink");
        me
    }

    /// The PEM file of the CA that signed the servers' certificate (for `localhost` and
    /// 127.0.0.1).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Dovecot's log (auth failures and introspection answers are there).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// The messages the sink received through submission's relay, as raw text.
    pub fn relayed(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join("sink").join(sub)) {
                for e in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(e.path()) {
                        out.push(text);
                    }
                }
            }
        }
        out
    }

    /// Puts a message into a user's inbox (their maildir's `new/`), as local delivery would.
    pub fn deliver(&self, user: &str, raw: &str) {
        let home = self.dir.join("mail").join(user);
        for sub in ["new", "cur", "tmp"] {
            let d = home.join(sub);
            std::fs::create_dir_all(&d).expect("maildir");
            std::os::unix::fs::chown(&d, Some(MAIL_UID), Some(MAIL_GID)).expect("chown");
        }
        std::os::unix::fs::chown(&home, Some(MAIL_UID), Some(MAIL_GID)).expect("chown");
        let file = home
            .join("new")
            .join(format!("{}.test.mailconn", free_port()));
        std::fs::write(&file, raw.replace('\n', "\r\n")).expect("message");
        std::os::unix::fs::chown(&file, Some(MAIL_UID), Some(MAIL_GID)).expect("chown");
    }

    /// A scratch directory for a test's files (inside this server's directory).
    pub fn scratch(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; wait so a restart finds the ports free.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.master.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.master.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
        let _ = self.sink.kill();
        let _ = self.sink.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The ports of one instance.
struct Ports {
    imap: u16,
    imaps: u16,
    pop: u16,
    pops: u16,
    submission: u16,
    sink: u16,
}

/// `dovecot.conf`: everything under `dir`, listeners on loopback, XOAUTH2 and OAUTHBEARER
/// through the `oauth2` passdb, no auth penalty (tests fail logins on purpose), submission
/// relaying to the sink (messages up to 100 MB), up to 100 sessions of one user from one
/// address.
fn config(dir: &Path, p: &Ports) -> String {
    let d = dir.display();
    format!(
        r"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap pop3 submission
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
auth_failure_delay = 0
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop}
  }}
  inet_listener pop3s {{
    port = {pops}
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = {submission}
  }}
}}
# Benchmarks hold 50 idle sessions of one user at once (the default allows 10 per user and IP).
mail_max_userip_connections = 100
submission_relay_host = 127.0.0.1
submission_relay_port = {sink}
submission_relay_trusted = yes
# Without a limit of its own, submission still stops DATA at about 40 MB: room for 50 MB tests.
submission_max_mail_size = 100M
hostname = mail.contoso.test
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
",
        imap = p.imap,
        imaps = p.imaps,
        pop = p.pop,
        pops = p.pops,
        submission = p.submission,
        sink = p.sink,
    )
}

/// A CA and a server certificate for `localhost` and 127.0.0.1, signed by it.
fn make_certificates(dir: &Path) {
    let p = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=Mail Connections test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(p("key.pem"))
        .arg("-out")
        .arg(p("leaf.csr")));
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("leaf.ext"))
        .arg("-out")
        .arg(p("cert.pem")));
}
