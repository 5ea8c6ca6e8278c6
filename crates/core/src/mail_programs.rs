//! "Use in a mail program": copy-ready settings for the mail programs people pair with Outlook
//! and Microsoft 365 (Thunderbird, neomutt, aerc, msmtp, isync/mbsync, `OfflineIMAP`, fetchmail and
//! a plain `curl` script), with the connection's servers and the exact `mailconn token` command
//! lines. The interface shows these texts and the tests run them against real servers, so what a
//! user copies is what was tested.

use std::fmt::Write as _;

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::mail_servers::{MailProtocol, MailServer, MailServers, Security};

/// A mail program the settings are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Program {
    Thunderbird,
    Neomutt,
    Aerc,
    Msmtp,
    Mbsync,
    Offlineimap,
    Fetchmail,
    Script,
}

impl Program {
    pub const ALL: [Program; 8] = [
        Program::Thunderbird,
        Program::Neomutt,
        Program::Aerc,
        Program::Msmtp,
        Program::Mbsync,
        Program::Offlineimap,
        Program::Fetchmail,
        Program::Script,
    ];

    /// The name on the command line (`mailconn use C msmtp`) and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Program::Thunderbird => "thunderbird",
            Program::Neomutt => "neomutt",
            Program::Aerc => "aerc",
            Program::Msmtp => "msmtp",
            Program::Mbsync => "mbsync",
            Program::Offlineimap => "offlineimap",
            Program::Fetchmail => "fetchmail",
            Program::Script => "script",
        }
    }

    /// The program by its name (also `isync` for mbsync and `curl` for the script).
    pub fn from_name(name: &str) -> Result<Self> {
        let name = name.trim().to_ascii_lowercase();
        let alias = match name.as_str() {
            "isync" => "mbsync",
            "mutt" => "neomutt",
            "curl" | "shell" => "script",
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|p| p.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
                Error::invalid(
                    "program",
                    format!(
                        "There are no settings for \"{name}\". Settings exist for: {}.",
                        names.join(", ")
                    ),
                )
            })
    }

    fn title(self) -> &'static str {
        match self {
            Program::Thunderbird => "Thunderbird",
            Program::Neomutt => "neomutt",
            Program::Aerc => "aerc",
            Program::Msmtp => "msmtp (sending)",
            Program::Mbsync => "isync / mbsync",
            Program::Offlineimap => "OfflineIMAP",
            Program::Fetchmail => "fetchmail",
            Program::Script => "A plain script (curl)",
        }
    }

    /// Which protocols the program uses.
    fn protocols(self) -> &'static [MailProtocol] {
        match self {
            Program::Thunderbird | Program::Neomutt | Program::Aerc | Program::Script => {
                &[MailProtocol::Imap, MailProtocol::Smtp]
            }
            Program::Msmtp => &[MailProtocol::Smtp],
            Program::Mbsync | Program::Offlineimap | Program::Fetchmail => &[MailProtocol::Imap],
        }
    }
}

/// What the settings are made from: the connection, its servers, what it may do, and how
/// `mailconn` is started on this machine.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// The mailbox's address (the user name on every server).
    pub address: &'a str,
    pub display_name: Option<&'a str>,
    /// How commands name the connection: its alias, else its address.
    pub selector: &'a str,
    pub servers: &'a MailServers,
    /// The protocols the connection was granted (`IMAP.AccessAsUser.All`, ...).
    pub granted: &'a [MailProtocol],
    /// Whether programs may fetch this connection's tokens.
    pub programs_allowed: bool,
    /// The words that start the command line tool, e.g. `["mailconn"]`, or with `--data-dir`.
    pub command: &'a [String],
}

/// The settings for one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Snippet {
    pub program: Program,
    pub title: String,
    /// Where the text goes (a file, or "the account settings").
    pub place: String,
    pub text: String,
    /// What to know first: a plugin to install, a permission or server missing, ...
    pub notes: Vec<String>,
    /// False when a permission, a server or the programs switch keeps it from working as is.
    pub ready: bool,
}

/// The settings of every program for a connection.
pub fn snippets(setup: &Setup<'_>) -> Vec<Snippet> {
    Program::ALL.iter().map(|p| snippet(*p, setup)).collect()
}

/// The settings of one program for a connection.
pub fn snippet(program: Program, setup: &Setup<'_>) -> Snippet {
    let mut notes = Vec::new();
    let mut ready = true;
    for &protocol in program.protocols() {
        if !setup.granted.contains(&protocol) {
            ready = false;
            notes.push(format!(
                "This connection may not use {} yet: reconnect it with the \"Mail programs\" \
                 permissions ({}).",
                protocol.label(),
                scope_of(protocol)
            ));
        }
        if setup.servers.get(protocol).is_none() {
            ready = false;
            notes.push(format!(
                "No {} server is known for this app's cloud: add it to the app registration \
                 (mailconn app add ... --{}-server HOST:PORT).",
                protocol.label(),
                protocol.field().trim_end_matches("_server")
            ));
        }
    }
    if !setup.programs_allowed && program != Program::Thunderbird {
        ready = false;
        notes.push(format!(
            "Programs may not fetch this connection's tokens yet: turn on \"Programs may use \
             this connection\" on its page, or run {}.",
            words(setup.command, &["programs", setup.selector, "allow"])
        ));
    }
    let w = Writer { setup };
    let (place, text) = match program {
        Program::Thunderbird => {
            notes.push(
                "Thunderbird signs in to Microsoft by itself with Mozilla's app registration, not \
                 with this one: your organisation may have to allow that app first. These are the \
                 settings to enter."
                    .to_owned(),
            );
            (
                "Account Settings, Server Settings and Outgoing Server (SMTP)",
                w.thunderbird(),
            )
        }
        Program::Neomutt => ("~/.config/neomutt/neomuttrc", w.neomutt()),
        Program::Aerc => ("~/.config/aerc/accounts.conf", w.aerc()),
        Program::Msmtp => ("~/.config/msmtp/config (or ~/.msmtprc)", w.msmtp()),
        Program::Mbsync => {
            notes.push(
                "isync needs the XOAUTH2 plugin for Cyrus SASL (Debian and Ubuntu: \
                 sasl-xoauth2 or libsasl2-modules-kdexoauth2)."
                    .to_owned(),
            );
            ("~/.mbsyncrc", w.mbsync())
        }
        Program::Offlineimap => ("~/.offlineimaprc", w.offlineimap()),
        Program::Fetchmail => {
            notes.push(
                "fetchmail cannot run a command for its password, so this script hands it the \
                 settings on standard input with a fresh token; nothing is written to disk."
                    .to_owned(),
            );
            ("fetch-mail.sh", w.fetchmail())
        }
        Program::Script => ("mail.sh", w.script()),
    };
    Snippet {
        program,
        title: program.title().to_owned(),
        place: place.to_owned(),
        text,
        notes,
        ready,
    }
}

fn scope_of(protocol: MailProtocol) -> &'static str {
    match protocol {
        MailProtocol::Imap => "IMAP.AccessAsUser.All",
        MailProtocol::Pop => "POP.AccessAsUser.All",
        MailProtocol::Smtp => "SMTP.Send",
    }
}

/// A command line with every word quoted for a POSIX shell where needed.
fn words(command: &[String], args: &[&str]) -> String {
    command
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    // A word with a NUL byte cannot be passed at all; none of ours has one.
    shlex::try_quote(word).map_or_else(|_| word.replace('\0', ""), std::borrow::Cow::into_owned)
}

/// `user@example.com` as the user part of a URL.
fn url_user(address: &str) -> String {
    url::form_urlencoded::byte_serialize(address.as_bytes()).collect()
}

/// Where a server is, in URL form (`[::1]` bracketed).
fn host_port(server: &MailServer) -> String {
    if server.host.contains(':') {
        format!("[{}]:{}", server.host, server.port)
    } else {
        format!("{}:{}", server.host, server.port)
    }
}

/// Placeholder for a server that is not known (the notes say why).
fn unknown(protocol: MailProtocol) -> MailServer {
    MailServer {
        host: format!(
            "{}.server.unknown",
            protocol.field().trim_end_matches("_server")
        ),
        port: match protocol {
            MailProtocol::Imap => 993,
            MailProtocol::Pop => 995,
            MailProtocol::Smtp => 587,
        },
        security: match protocol {
            MailProtocol::Smtp => Security::StartTls,
            _ => Security::Tls,
        },
    }
}

struct Writer<'s, 'a> {
    setup: &'s Setup<'a>,
}

impl Writer<'_, '_> {
    fn server(&self, protocol: MailProtocol) -> MailServer {
        self.setup
            .servers
            .get(protocol)
            .cloned()
            .unwrap_or_else(|| unknown(protocol))
    }

    fn token(&self, resource: &str) -> String {
        words(
            self.setup.command,
            &["token", self.setup.selector, "--resource", resource],
        )
    }

    fn address(&self) -> &str {
        self.setup.address
    }

    fn from(&self) -> String {
        match self.setup.display_name {
            Some(name) if !name.trim().is_empty() => {
                format!(
                    "{} <{}>",
                    name.replace(['<', '>', '"', '\n', '\r'], ""),
                    self.address()
                )
            }
            _ => self.address().to_owned(),
        }
    }

    fn thunderbird(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let smtp = self.server(MailProtocol::Smtp);
        let security = |s: Security| match s {
            Security::Tls => "SSL/TLS",
            Security::StartTls => "STARTTLS",
            Security::Plain => "None",
        };
        format!(
            "Incoming server (IMAP)\n  Server name: {}\n  Port: {}\n  Connection security: {}\n  \
             Authentication method: OAuth2\n  User name: {addr}\n\nOutgoing server (SMTP)\n  \
             Server name: {}\n  Port: {}\n  Connection security: {}\n  Authentication method: \
             OAuth2\n  User name: {addr}\n",
            imap.host,
            imap.port,
            security(imap.security),
            smtp.host,
            smtp.port,
            security(smtp.security),
            addr = self.address(),
        )
    }

    fn neomutt(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let smtp = self.server(MailProtocol::Smtp);
        let imap_scheme = if imap.security == Security::Tls {
            "imaps"
        } else {
            "imap"
        };
        let smtp_scheme = if smtp.security == Security::Tls {
            "smtps"
        } else {
            "smtp"
        };
        let mut t = String::new();
        let _ = writeln!(t, "set from = \"{}\"", self.address());
        if let Some(name) = self.setup.display_name {
            let _ = writeln!(
                t,
                "set real_name = \"{}\"",
                name.replace(['"', '\n', '\r'], "")
            );
        }
        let _ = writeln!(t, "set imap_user = \"{}\"", self.address());
        let _ = writeln!(t, "set folder = \"{imap_scheme}://{}/\"", host_port(&imap));
        let _ = writeln!(t, "set spool_file = \"+INBOX\"");
        let _ = writeln!(t, "set imap_authenticators = \"xoauth2\"");
        let _ = writeln!(
            t,
            "set imap_oauth_refresh_command = \"{}\"",
            self.token("imap")
        );
        let _ = writeln!(
            t,
            "set smtp_url = \"{smtp_scheme}://{}@{}/\"",
            url_user(self.address()),
            host_port(&smtp)
        );
        let _ = writeln!(t, "set smtp_authenticators = \"xoauth2\"");
        let _ = writeln!(
            t,
            "set smtp_oauth_refresh_command = \"{}\"",
            self.token("smtp")
        );
        let tls = imap.security != Security::Plain || smtp.security != Security::Plain;
        let _ = writeln!(t, "set ssl_force_tls = {}", if tls { "yes" } else { "no" });
        let _ = writeln!(
            t,
            "set ssl_starttls = {}",
            if smtp.security == Security::StartTls {
                "yes"
            } else {
                "no"
            }
        );
        t
    }

    fn aerc(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let smtp = self.server(MailProtocol::Smtp);
        let imap_scheme = match imap.security {
            Security::Tls => "imaps+xoauth2",
            Security::StartTls => "imap+xoauth2",
            Security::Plain => "imap+xoauth2+insecure",
        };
        let smtp_scheme = match smtp.security {
            Security::Tls => "smtps+xoauth2",
            Security::StartTls => "smtp+xoauth2",
            Security::Plain => "smtp+xoauth2+insecure",
        };
        let user = url_user(self.address());
        format!(
            "[{addr}]\nsource            = {imap_scheme}://{user}@{}\nsource-cred-cmd   = {}\n\
             outgoing          = {smtp_scheme}://{user}@{}\noutgoing-cred-cmd = {}\n\
             from              = {}\ndefault           = INBOX\ncopy-to           = Sent Items\n",
            host_port(&imap),
            self.token("imap"),
            host_port(&smtp),
            self.token("smtp"),
            self.from(),
            addr = self.address(),
        )
    }

    fn msmtp(&self) -> String {
        let smtp = self.server(MailProtocol::Smtp);
        let (tls, starttls) = match smtp.security {
            Security::Tls => ("on", "off"),
            Security::StartTls => ("on", "on"),
            Security::Plain => ("off", "off"),
        };
        format!(
            "account {addr}\nhost {}\nport {}\ntls {tls}\ntls_starttls {starttls}\nauth xoauth2\n\
             user {addr}\nfrom {addr}\npasswordeval \"{}\"\n\naccount default : {addr}\n",
            smtp.host,
            smtp.port,
            self.token("smtp"),
            addr = self.address(),
        )
    }

    fn mbsync(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let ssl = match imap.security {
            Security::Tls => "IMAPS",
            Security::StartTls => "STARTTLS",
            Security::Plain => "None",
        };
        let name = self.address();
        format!(
            "IMAPAccount {name}\nHost {}\nPort {}\nUser {name}\nPassCmd \"{}\"\nAuthMechs XOAUTH2\n\
             SSLType {ssl}\n\nIMAPStore {name}-remote\nAccount {name}\n\n\
             MaildirStore {name}-local\nPath ~/Mail/{name}/\nInbox ~/Mail/{name}/INBOX\n\
             SubFolders Verbatim\n\nChannel {name}\nFar :{name}-remote:\nNear :{name}-local:\n\
             Patterns *\nCreate Near\nSyncState *\n",
            imap.host,
            imap.port,
            self.token("imap"),
        )
    }

    fn offlineimap(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let name = self.address();
        let (ssl, starttls) = match imap.security {
            Security::Tls => ("yes", "no"),
            Security::StartTls => ("no", "yes"),
            Security::Plain => ("no", "no"),
        };
        // OfflineIMAP evaluates the option as Python: run the command, take its output.
        let argv: Vec<String> = self
            .setup
            .command
            .iter()
            .map(String::as_str)
            .chain(["token", self.setup.selector, "--resource", "imap"])
            .map(|w| format!("{w:?}"))
            .collect();
        let cert = if imap.security == Security::Plain {
            String::new()
        } else {
            "sslcacertfile = OS-DEFAULT\n".to_owned()
        };
        format!(
            "[general]\naccounts = {name}\n\n[Account {name}]\nlocalrepository = {name}-local\n\
             remoterepository = {name}-remote\n\n[Repository {name}-local]\ntype = Maildir\n\
             localfolders = ~/Mail/{name}\n\n[Repository {name}-remote]\ntype = IMAP\n\
             remotehost = {}\nremoteport = {}\nremoteuser = {name}\nssl = {ssl}\n\
             starttls = {starttls}\n{cert}auth_mechanisms = XOAUTH2\n\
             oauth2_access_token_eval = __import__(\"subprocess\").run([{}], capture_output=True, \
             text=True, check=True).stdout.strip()\n",
            imap.host,
            imap.port,
            argv.join(", "),
        )
    }

    fn fetchmail(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let ssl = match imap.security {
            Security::Tls => " ssl",
            Security::StartTls => " sslproto tls1.2+",
            Security::Plain => "",
        };
        format!(
            "#!/bin/sh\n# Fetches new mail of {addr} into the local mailbox (fetchmail's usual \
             delivery).\nset -e\ntoken=$({})\nprintf 'poll %s protocol IMAP port %s user \"%s\" \
             auth oauthbearer password \"%s\"{ssl}\\n' \\\n  {} {} {} \"$token\" | fetchmail -f - \
             \"$@\"\n",
            self.token("imap"),
            quote(&imap.host),
            imap.port,
            quote(self.address()),
            addr = self.address(),
        )
    }

    fn script(&self) -> String {
        let imap = self.server(MailProtocol::Imap);
        let smtp = self.server(MailProtocol::Smtp);
        let imap_url = format!(
            "{}://{}/INBOX",
            if imap.security == Security::Tls {
                "imaps"
            } else {
                "imap"
            },
            host_port(&imap)
        );
        let smtp_url = format!(
            "{}://{}",
            if smtp.security == Security::Tls {
                "smtps"
            } else {
                "smtp"
            },
            host_port(&smtp)
        );
        let ssl = |s: Security| {
            if s == Security::StartTls {
                " --ssl-reqd"
            } else {
                ""
            }
        };
        let addr = quote(self.address());
        format!(
            "#!/bin/sh\n# The messages in the inbox (IMAP SEARCH), then a message to yourself \
             (SMTP).\nset -e\ncurl --silent --show-error --url {}{} --user {addr} \\\n  \
             --oauth2-bearer \"$({})\" --request 'SEARCH ALL'\n\nprintf 'From: %s\\r\\nTo: \
             %s\\r\\nSubject: Test from a script\\r\\n\\r\\nSent with curl.\\r\\n' {addr} {addr} \
             |\n  curl --silent --show-error --url {}{} --user {addr} \\\n  --oauth2-bearer \
             \"$({})\" \\\n  --mail-from {addr} --mail-rcpt {addr} --upload-file -\n",
            quote(&imap_url),
            ssl(imap.security),
            self.token("imap"),
            quote(&smtp_url),
            ssl(smtp.security),
            self.token("smtp"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> MailServers {
        MailServers {
            imap: Some(MailServer {
                host: "outlook.office365.com".into(),
                port: 993,
                security: Security::Tls,
            }),
            pop: Some(MailServer {
                host: "outlook.office365.com".into(),
                port: 995,
                security: Security::Tls,
            }),
            smtp: Some(MailServer {
                host: "smtp.office365.com".into(),
                port: 587,
                security: Security::StartTls,
            }),
        }
    }

    const ALL: [MailProtocol; 3] = [MailProtocol::Imap, MailProtocol::Pop, MailProtocol::Smtp];

    fn with<R>(granted: &[MailProtocol], allowed: bool, f: impl FnOnce(&Setup<'_>) -> R) -> R {
        let servers = servers();
        let command = vec!["mailconn".to_owned()];
        f(&Setup {
            address: "ada@contoso.com",
            display_name: Some("Ada Lovelace"),
            selector: "work",
            servers: &servers,
            granted,
            programs_allowed: allowed,
            command: &command,
        })
    }

    #[test]
    fn every_program_has_settings_with_the_token_command_and_the_servers() {
        let all = with(&ALL, true, snippets);
        assert_eq!(all.len(), Program::ALL.len());
        for s in &all {
            assert!(s.ready, "{:?}: {:?}", s.program, s.notes);
            if s.program == Program::Thunderbird {
                assert!(s.text.contains("OAuth2"));
            } else if s.program == Program::Offlineimap {
                assert!(
                    s.text
                        .contains(r#"["mailconn", "token", "work", "--resource", "imap"]"#)
                );
            } else {
                assert!(
                    s.text.contains("mailconn token work --resource"),
                    "{}",
                    s.text
                );
            }
            if s.program.protocols().contains(&MailProtocol::Imap) {
                assert!(s.text.contains("outlook.office365.com"), "{}", s.text);
            }
            if s.program.protocols().contains(&MailProtocol::Smtp) {
                assert!(s.text.contains("smtp.office365.com"), "{}", s.text);
            }
        }
    }

    #[test]
    fn msmtp_uses_starttls_on_587_and_xoauth2() {
        let s = with(&ALL, true, |setup| snippet(Program::Msmtp, setup));
        assert_eq!(
            s.text,
            "account ada@contoso.com\nhost smtp.office365.com\nport 587\ntls on\ntls_starttls on\n\
             auth xoauth2\nuser ada@contoso.com\nfrom ada@contoso.com\n\
             passwordeval \"mailconn token work --resource smtp\"\n\n\
             account default : ada@contoso.com\n"
        );
    }

    #[test]
    fn urls_carry_the_address_encoded() {
        let s = with(&ALL, true, |setup| snippet(Program::Aerc, setup));
        assert!(
            s.text
                .contains("imaps+xoauth2://ada%40contoso.com@outlook.office365.com:993")
        );
        assert!(
            s.text
                .contains("smtp+xoauth2://ada%40contoso.com@smtp.office365.com:587")
        );
        assert!(
            s.text
                .contains("from              = Ada Lovelace <ada@contoso.com>")
        );
    }

    #[test]
    fn a_missing_permission_or_server_or_switch_is_said_first() {
        let s = with(&[MailProtocol::Imap], false, |setup| {
            snippet(Program::Neomutt, setup)
        });
        assert!(!s.ready);
        assert!(
            s.notes.iter().any(|n| n.contains("SMTP.Send")),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("mailconn programs work allow")),
            "{:?}",
            s.notes
        );

        let servers = MailServers::default();
        let command = vec!["mailconn".to_owned()];
        let s = snippet(
            Program::Mbsync,
            &Setup {
                address: "ada@contoso.com",
                display_name: None,
                selector: "ada@contoso.com",
                servers: &servers,
                granted: &ALL,
                programs_allowed: true,
                command: &command,
            },
        );
        assert!(!s.ready);
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("--imap-server HOST:PORT")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        let command = vec![
            "/opt/Mail Connections/mailconn".to_owned(),
            "--data-dir".to_owned(),
            "/tmp/it's".to_owned(),
        ];
        let line = words(
            &command,
            &["token", "ada@contoso.com", "--resource", "imap"],
        );
        assert_eq!(
            shlex::split(&line).unwrap(),
            [
                "/opt/Mail Connections/mailconn",
                "--data-dir",
                "/tmp/it's",
                "token",
                "ada@contoso.com",
                "--resource",
                "imap"
            ]
        );
    }

    #[test]
    fn programs_are_found_by_name_and_an_unknown_one_is_explained() {
        assert_eq!(Program::from_name("isync").unwrap(), Program::Mbsync);
        assert_eq!(Program::from_name(" MSMTP ").unwrap(), Program::Msmtp);
        for p in Program::ALL {
            assert_eq!(Program::from_name(p.name()).unwrap(), p);
        }
        let e = Program::from_name("outlook").unwrap_err();
        assert_eq!(e.field(), Some("program"));
        assert!(
            e.message().contains("thunderbird, neomutt"),
            "{}",
            e.message()
        );
    }
}
