//! Mail servers per cloud and account type: where IMAP, POP and SMTP submission are for a
//! connection, and how a user-given `HOST:PORT` is checked.
//!
//! Microsoft 365 (work or school) and Outlook.com share IMAP and POP on `outlook.office365.com`
//! (993 and 995, TLS); SMTP submission is `smtp.office365.com` for Microsoft 365 and
//! `smtp-mail.outlook.com` for Outlook.com (587, STARTTLS). The national clouds' hosts could not
//! be confirmed from Microsoft's pages (docs/MICROSOFT.md), so those clouds, like a custom
//! cloud, take their servers from the app registration. A server given there overrides the
//! built-in one.
//!
//! A server is written `HOST:PORT`, optionally with the connection's security in front:
//! `tls://` (TLS from the first byte), `starttls://` (plain, then STARTTLS) or `plain://` (no
//! TLS, only to 127.0.0.1, `::1` or localhost, as plain `http://` is only for loopback). Without a
//! prefix IMAP and POP use TLS, and SMTP uses STARTTLS (TLS on port 465).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use ts_rs::TS;

use crate::cloud::CloudId;
use crate::error::{Error, Result};

/// The three mail protocols a connection may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MailProtocol {
    Imap,
    Pop,
    Smtp,
}

impl MailProtocol {
    pub const ALL: [MailProtocol; 3] = [MailProtocol::Imap, MailProtocol::Pop, MailProtocol::Smtp];

    /// The registration field (and CLI option `--{field with -}`) holding this protocol's server.
    pub fn field(self) -> &'static str {
        match self {
            MailProtocol::Imap => "imap_server",
            MailProtocol::Pop => "pop_server",
            MailProtocol::Smtp => "smtp_server",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MailProtocol::Imap => "IMAP",
            MailProtocol::Pop => "POP",
            MailProtocol::Smtp => "SMTP",
        }
    }

    fn default_security(self, port: u16) -> Security {
        match self {
            MailProtocol::Imap | MailProtocol::Pop => Security::Tls,
            MailProtocol::Smtp if port == 465 => Security::Tls,
            MailProtocol::Smtp => Security::StartTls,
        }
    }
}

/// How the connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAP 993, POP 995, SMTP 465).
    Tls,
    /// Plain greeting, then STARTTLS / STLS before anything else (SMTP 587).
    StartTls,
    /// No TLS at all: loopback only (tests, local proxies).
    Plain,
}

impl Security {
    fn prefix(self) -> &'static str {
        match self {
            Security::Tls => "tls://",
            Security::StartTls => "starttls://",
            Security::Plain => "plain://",
        }
    }
}

/// One mail server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, TS)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl MailServer {
    fn new(host: &str, port: u16, security: Security) -> Self {
        Self {
            host: host.to_owned(),
            port,
            security,
        }
    }

    /// Whether the host is 127.0.0.0/8, `::1` or localhost.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// The stored and shown form: `HOST:PORT` when the security is the protocol's default, else with
/// its prefix. IPv6 addresses are bracketed.
impl fmt::Display for MailServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{}{host}:{}", self.security.prefix(), self.port)
    }
}

/// The servers of one connection; `None` where none is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct MailServers {
    pub imap: Option<MailServer>,
    pub pop: Option<MailServer>,
    pub smtp: Option<MailServer>,
}

impl MailServers {
    pub fn get(&self, protocol: MailProtocol) -> Option<&MailServer> {
        match protocol {
            MailProtocol::Imap => self.imap.as_ref(),
            MailProtocol::Pop => self.pop.as_ref(),
            MailProtocol::Smtp => self.smtp.as_ref(),
        }
    }

    fn slot(&mut self, protocol: MailProtocol) -> &mut Option<MailServer> {
        match protocol {
            MailProtocol::Imap => &mut self.imap,
            MailProtocol::Pop => &mut self.pop,
            MailProtocol::Smtp => &mut self.smtp,
        }
    }

    /// The servers for a cloud and account type, with the registration's servers (already
    /// checked by [`parse`]) taking the place of the built-in ones.
    pub fn resolve(cloud: CloudId, personal: bool, overrides: &MailServers) -> Self {
        let mut servers = Self::builtin(cloud, personal);
        for p in MailProtocol::ALL {
            if let Some(s) = overrides.get(p) {
                *servers.slot(p) = Some(s.clone());
            }
        }
        servers
    }

    /// Microsoft's own servers. Only the global cloud's are confirmed (docs/MICROSOFT.md).
    pub fn builtin(cloud: CloudId, personal: bool) -> Self {
        match cloud {
            CloudId::Global => Self {
                imap: Some(MailServer::new("outlook.office365.com", 993, Security::Tls)),
                pop: Some(MailServer::new("outlook.office365.com", 995, Security::Tls)),
                smtp: Some(MailServer::new(
                    if personal {
                        "smtp-mail.outlook.com"
                    } else {
                        "smtp.office365.com"
                    },
                    587,
                    Security::StartTls,
                )),
            },
            CloudId::GccHigh | CloudId::Dod | CloudId::China | CloudId::Custom => Self::default(),
        }
    }

    /// Whether Microsoft's servers for this cloud are known without the registration's fields.
    pub fn known_for(cloud: CloudId) -> bool {
        cloud == CloudId::Global
    }
}

/// Whether a host is 127.0.0.0/8, `::1` or localhost.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a user-given server for a protocol (`field` names the form field or CLI option).
pub fn parse(protocol: MailProtocol, raw: &str) -> Result<MailServer> {
    let field = protocol.field();
    let example = match protocol {
        MailProtocol::Imap => "outlook.office365.com:993",
        MailProtocol::Pop => "outlook.office365.com:995",
        MailProtocol::Smtp => "smtp.office365.com:587",
    };
    let raw = raw.trim();
    let label = protocol.label();
    let invalid = |m: String| Error::invalid(field, format!("{label} server: {m}"));
    if raw.is_empty() {
        return Err(invalid(format!(
            "enter it as HOST:PORT, for example {example}."
        )));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "it must not contain spaces, tabs or line breaks.".into(),
        ));
    }
    let (security, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => {
            let security = match scheme.to_ascii_lowercase().as_str() {
                "tls" | "ssl" => Security::Tls,
                "starttls" => Security::StartTls,
                "plain" => Security::Plain,
                _ => {
                    return Err(invalid(format!(
                        "write it as HOST:PORT (for example {example}), optionally with tls://, starttls:// or plain:// in front; \"{scheme}://\" is none of these."
                    )));
                }
            };
            (Some(security), rest)
        }
        None => (None, raw),
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err(invalid(format!(
            "add the port: HOST:PORT, for example {example}."
        )));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => {
            return Err(invalid(format!(
                "\"{port}\" is not a port; use a number from 1 to 65535, for example {example}."
            )));
        }
    };
    if host.is_empty() || !valid_host(host) {
        return Err(invalid(format!(
            "\"{host}\" is not a host name or IP address, for example {example}."
        )));
    }
    if protocol == MailProtocol::Pop && security == Some(Security::StartTls) {
        // STLS exists, but Microsoft offers POP with TLS only; keep the choices small.
        return Err(invalid(
            "POP is used with TLS from the start (tls://), or plain:// to a loopback address."
                .into(),
        ));
    }
    let security = security.unwrap_or_else(|| protocol.default_security(port));
    if security == Security::Plain && !is_loopback_host(host) {
        return Err(invalid(
            "a connection without TLS (plain://) is allowed only to 127.0.0.1, ::1 or localhost."
                .into(),
        ));
    }
    Ok(MailServer::new(&host.to_ascii_lowercase(), port, security))
}

fn valid_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Reads a stored server back (it was checked by [`parse`] before it was stored).
pub fn stored(protocol: MailProtocol, text: Option<&str>) -> Option<MailServer> {
    text.and_then(|t| parse(protocol, t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_365_and_outlook_com_differ_only_in_smtp() {
        let work = MailServers::builtin(CloudId::Global, false);
        let personal = MailServers::builtin(CloudId::Global, true);
        assert_eq!(
            work.imap.as_ref().unwrap().to_string(),
            "tls://outlook.office365.com:993"
        );
        assert_eq!(
            work.pop.as_ref().unwrap().to_string(),
            "tls://outlook.office365.com:995"
        );
        assert_eq!(
            work.smtp.as_ref().unwrap().to_string(),
            "starttls://smtp.office365.com:587"
        );
        assert_eq!(personal.imap, work.imap);
        assert_eq!(personal.pop, work.pop);
        assert_eq!(
            personal.smtp.as_ref().unwrap().host,
            "smtp-mail.outlook.com"
        );
        for cloud in [
            CloudId::GccHigh,
            CloudId::Dod,
            CloudId::China,
            CloudId::Custom,
        ] {
            assert_eq!(MailServers::builtin(cloud, false), MailServers::default());
            assert!(!MailServers::known_for(cloud));
        }
    }

    #[test]
    fn registration_servers_override_the_builtin_ones() {
        let overrides = MailServers {
            smtp: Some(parse(MailProtocol::Smtp, "smtp.office365.us:587").unwrap()),
            ..MailServers::default()
        };
        let s = MailServers::resolve(CloudId::GccHigh, false, &overrides);
        assert_eq!(s.imap, None);
        assert_eq!(s.smtp.unwrap().host, "smtp.office365.us");
        let s = MailServers::resolve(CloudId::Global, false, &overrides);
        assert_eq!(s.imap.unwrap().host, "outlook.office365.com");
    }

    #[test]
    fn defaults_and_prefixes() {
        let s = parse(MailProtocol::Imap, " Mail.Example.com:993 ").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("mail.example.com", 993, Security::Tls)
        );
        assert_eq!(
            parse(MailProtocol::Smtp, "smtp.example.com:465")
                .unwrap()
                .security,
            Security::Tls
        );
        assert_eq!(
            parse(MailProtocol::Smtp, "smtp.example.com:587")
                .unwrap()
                .security,
            Security::StartTls
        );
        let p = parse(MailProtocol::Pop, "plain://127.0.0.1:1110").unwrap();
        assert_eq!(p.security, Security::Plain);
        assert_eq!(p.to_string(), "plain://127.0.0.1:1110");
        let v6 = parse(MailProtocol::Imap, "plain://[::1]:1143").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "plain://[::1]:1143");
        assert_eq!(parse(MailProtocol::Imap, &v6.to_string()).unwrap(), v6);
        assert!(parse(MailProtocol::Smtp, "plain://localhost:2525").is_ok());
    }

    proptest::proptest! {
        /// Any text: an error on the field, or a server whose stored form reads back the same.
        #[test]
        fn any_text_is_refused_or_round_trips(raw in "(tls://|starttls://|plain://)?[a-z0-9.:\\[\\]-]{0,40}") {
            for protocol in MailProtocol::ALL {
                match parse(protocol, &raw) {
                    Ok(s) => proptest::prop_assert_eq!(parse(protocol, &s.to_string()).unwrap(), s),
                    Err(e) => proptest::prop_assert_eq!(e.field(), Some(protocol.field())),
                }
            }
        }
    }

    #[test]
    fn bad_servers_are_explained_on_their_field() {
        let cases = [
            (MailProtocol::Imap, "", "IMAP server: enter it as HOST:PORT"),
            (
                MailProtocol::Imap,
                "mail.example.com",
                "IMAP server: add the port",
            ),
            (
                MailProtocol::Imap,
                "mail.example.com:99999",
                "is not a port",
            ),
            (MailProtocol::Imap, "mail.example.com:0", "is not a port"),
            (MailProtocol::Pop, "bad_host!:995", "not a host name"),
            (MailProtocol::Smtp, "mail.exa mple.com:587", "spaces"),
            (
                MailProtocol::Smtp,
                "https://smtp.example.com:587",
                "none of these",
            ),
            (
                MailProtocol::Smtp,
                "plain://smtp.example.com:25",
                "SMTP server: a connection without TLS (plain://) is allowed only to 127.0.0.1",
            ),
            (
                MailProtocol::Pop,
                "starttls://pop.example.com:110",
                "POP is used with TLS",
            ),
        ];
        for (protocol, raw, msg) in cases {
            let err = parse(protocol, raw).unwrap_err();
            assert_eq!(err.field(), Some(protocol.field()), "{raw}");
            assert!(err.message().contains(msg), "{raw}: {}", err.message());
        }
    }
}
