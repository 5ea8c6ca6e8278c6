//! The bridge's settings: ports per protocol and security, whether plain login without TLS is
//! allowed on loopback, and the opt-in for devices on the office network (an address to listen
//! on and an allowlist of client addresses). Stored as one JSON row; checked before saving.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};
use crate::mail_servers::MailProtocol;

/// How a listener protects the local leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ListenerSecurity {
    /// Plain greeting, `STARTTLS` (`STLS` for POP) offered; plain login only on loopback and only
    /// while [`BridgeSettings::allow_plain`] is on.
    StartTls,
    /// TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465 style).
    Tls,
}

impl ListenerSecurity {
    pub fn label(self) -> &'static str {
        match self {
            ListenerSecurity::StartTls => "STARTTLS",
            ListenerSecurity::Tls => "SSL/TLS",
        }
    }
}

/// The ports of one protocol; 0 turns that listener off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Ports {
    pub starttls: u16,
    pub tls: u16,
}

/// Devices on the office network (off unless set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NetworkAccess {
    /// The local address to listen on as well as loopback, e.g. `192.168.1.20`.
    pub address: String,
    /// Client addresses or networks allowed (`192.168.1.30`, `192.168.1.0/24`); nothing else
    /// gets past the TCP accept.
    pub allow: Vec<String>,
}

/// Everything the bridge's listeners follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BridgeSettings {
    pub imap: Ports,
    pub pop: Ports,
    pub smtp: Ports,
    /// Plain login without TLS on the loopback listeners (off: clients must use TLS there too).
    pub allow_plain: bool,
    pub network: Option<NetworkAccess>,
    /// Start the bridge when the desktop app starts.
    pub start_with_app: bool,
    /// Sessions one program or device may have at once.
    pub sessions_per_program: u32,
}

impl Default for BridgeSettings {
    fn default() -> Self {
        Self {
            imap: Ports {
                starttls: 1143,
                tls: 1993,
            },
            pop: Ports {
                starttls: 1110,
                tls: 1995,
            },
            smtp: Ports {
                starttls: 1587,
                tls: 1465,
            },
            allow_plain: true,
            network: None,
            start_with_app: false,
            sessions_per_program: 25,
        }
    }
}

/// One allowlist entry: an address or a network (`ipnet`'s parsing and matching; a plain address
/// is a network of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed(ipnet::IpNet);

impl Allowed {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        text.parse::<ipnet::IpNet>()
            .ok()
            .or_else(|| text.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
            .map(|n| Self(n.trunc()))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&unmapped(ip))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.168.1.5`, as a dual-stack socket reports it) as
/// the IPv4 address it is.
pub fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn invalid(message: String, fix: &str) -> Error {
    Error::new(ErrorCode::Validation, message).with_fix(fix)
}

impl BridgeSettings {
    pub fn ports(&self, protocol: MailProtocol) -> Ports {
        match protocol {
            MailProtocol::Imap => self.imap,
            MailProtocol::Pop => self.pop,
            MailProtocol::Smtp => self.smtp,
        }
    }

    /// The allowlist, parsed (checked on save, so nothing is dropped here).
    pub fn allowlist(&self) -> Vec<Allowed> {
        self.network
            .iter()
            .flat_map(|n| n.allow.iter().filter_map(|a| Allowed::parse(a)))
            .collect()
    }

    /// The network address, parsed.
    pub fn network_address(&self) -> Option<IpAddr> {
        self.network.as_ref().and_then(|n| n.address.parse().ok())
    }

    /// Checks everything a person may have typed; the message names the field.
    pub fn validate(&self) -> Result<()> {
        let mut seen = Vec::new();
        for protocol in MailProtocol::ALL {
            let p = self.ports(protocol);
            for port in [p.starttls, p.tls] {
                if port != 0 && seen.contains(&port) {
                    return Err(invalid(
                        format!("Port {port} is given to two listeners."),
                        "Give every listener its own port (or 0 to turn one off).",
                    ));
                }
                seen.push(port);
            }
        }
        if !(1..=1000).contains(&self.sessions_per_program) {
            return Err(invalid(
                format!(
                    "{} sessions per program is out of range.",
                    self.sessions_per_program
                ),
                "Allow between 1 and 1000 sessions per program or device.",
            ));
        }
        let Some(net) = &self.network else {
            return Ok(());
        };
        let address: IpAddr = net.address.trim().parse().map_err(|_| {
            invalid(
                format!("\"{}\" is not an IP address.", net.address.escape_default()),
                "Give this computer's address on the office network, e.g. 192.168.1.20.",
            )
        })?;
        if address.is_loopback() || address.is_unspecified() || address.is_multicast() {
            return Err(invalid(
                format!("{address} cannot be the office-network address."),
                "Give this computer's own address on the office network (not 0.0.0.0, loopback or multicast): devices may then reach only that address.",
            ));
        }
        if net.allow.is_empty() {
            return Err(invalid(
                "Devices on the network need an allowlist.".into(),
                "Add the address of each device (192.168.1.30) or its network (192.168.1.0/24).",
            ));
        }
        for a in &net.allow {
            if Allowed::parse(a).is_none() {
                return Err(invalid(
                    format!("\"{}\" is not an address or network.", a.escape_default()),
                    "Write an address (192.168.1.30) or a network with its prefix length (192.168.1.0/24).",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_entries_match_addresses_and_networks() {
        let net = Allowed::parse("192.168.1.0/24").unwrap();
        assert!(net.contains("192.168.1.77".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.77".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        let one = Allowed::parse("10.0.0.5").unwrap();
        assert!(one.contains("10.0.0.5".parse().unwrap()));
        assert!(!one.contains("10.0.0.6".parse().unwrap()));
        assert!(
            Allowed::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "printer", "10.0.0.1/x"] {
            assert_eq!(Allowed::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_checked_with_a_message_per_field() {
        assert!(BridgeSettings::default().validate().is_ok());
        let mut s = BridgeSettings::default();
        s.pop.tls = s.imap.tls;
        assert!(
            s.validate()
                .unwrap_err()
                .message()
                .contains("two listeners")
        );
        let mut s = BridgeSettings {
            network: Some(NetworkAccess {
                address: "0.0.0.0".into(),
                allow: vec!["192.168.1.0/24".into()],
            }),
            ..BridgeSettings::default()
        };
        assert!(s.validate().unwrap_err().message().contains("cannot be"));
        s.network = Some(NetworkAccess {
            address: "192.168.1.20".into(),
            allow: vec![],
        });
        assert!(s.validate().unwrap_err().message().contains("allowlist"));
        s.network = Some(NetworkAccess {
            address: "192.168.1.20".into(),
            allow: vec!["the printer".into()],
        });
        assert!(s.validate().unwrap_err().message().contains("the printer"));
    }
}
