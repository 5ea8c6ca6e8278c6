//! Binding and accepting: one TCP listener per protocol and security on 127.0.0.1, and the same
//! ports on the office-network address when that is opted in. A client from anywhere but
//! loopback must be on the allowlist (checked right after the TCP accept, before a byte is
//! read) and must use TLS before it may log in. Each accepted connection is its own task.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::gate::Gate;
use super::io::{Local, accept_tls, acceptor};
use super::limits::Timeouts;
use super::session::{Ctx, Front, serve};
use super::sessions::Sessions;
use super::settings::ListenerSecurity;
use super::{ListenerState, ListenerStatus};
use crate::mail_servers::MailProtocol;

/// What [`bind`] managed.
#[derive(Debug, Default)]
pub struct Listening {
    pub statuses: Vec<ListenerStatus>,
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "Port {} is already in use on {} (another program, or another Mail Connections bridge such as `mailconn bridge`, has it). Stop that, or choose another port.",
            addr.port(),
            addr.ip()
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "{} is not an address of this computer. Choose the address this computer has on the office network.",
            addr.ip()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "Port {} needs administrator rights. Choose a port above 1023.",
            addr.port()
        ),
        _ => format!("Could not listen on {addr}: {e}."),
    }
}

/// Binds every listener the settings ask for and starts accepting on each.
pub async fn bind(
    gate: Arc<Gate>,
    tls: Arc<rustls::ServerConfig>,
    sessions: Arc<Sessions>,
    cancel: CancellationToken,
) -> Listening {
    let mut statuses = Vec::new();
    let mut addresses = vec![(IpAddr::V4(Ipv4Addr::LOCALHOST), false)];
    if let Some(ip) = gate.settings.network_address() {
        addresses.push((ip, true));
    }
    for protocol in MailProtocol::ALL {
        let ports = gate.settings.ports(protocol);
        for (security, port) in [
            (ListenerSecurity::StartTls, ports.starttls),
            (ListenerSecurity::Tls, ports.tls),
        ] {
            if port == 0 {
                continue;
            }
            for &(ip, network) in &addresses {
                let addr = SocketAddr::new(ip, port);
                let state = match TcpListener::bind(addr).await {
                    Ok(listener) => {
                        let port = listener.local_addr().map_or(port, |a| a.port());
                        tokio::spawn(accept(
                            listener,
                            protocol,
                            security,
                            gate.clone(),
                            tls.clone(),
                            sessions.clone(),
                            cancel.clone(),
                        ));
                        statuses.push(ListenerStatus {
                            protocol,
                            security,
                            address: ip.to_string(),
                            port,
                            network,
                            state: ListenerState::Listening,
                        });
                        continue;
                    }
                    Err(e) => ListenerState::Failed {
                        message: bind_error(addr, &e),
                    },
                };
                tracing::warn!(%addr, ?protocol, "bridge listener could not bind");
                statuses.push(ListenerStatus {
                    protocol,
                    security,
                    address: ip.to_string(),
                    port,
                    network,
                    state,
                });
            }
        }
    }
    Listening { statuses }
}

#[allow(clippy::too_many_arguments)]
async fn accept(
    listener: TcpListener,
    protocol: MailProtocol,
    security: ListenerSecurity,
    gate: Arc<Gate>,
    tls: Arc<rustls::ServerConfig>,
    sessions: Arc<Sessions>,
    cancel: CancellationToken,
) {
    let allow = gate.settings.allowlist();
    let acceptor = acceptor(&tls);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = cancel.cancelled() => return,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of file descriptors and the like: do not spin.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let ip = super::settings::unmapped(peer.ip());
        if !ip.is_loopback() && !allow.iter().any(|a| a.contains(ip)) {
            tracing::info!(%ip, ?protocol, "bridge: refused a client not on the allowlist");
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let guard = sessions.open(protocol, security, ip.to_string(), gate.now(), &cancel);
        let timeouts = Timeouts::for_protocol(protocol);
        let (gate, acceptor) = (gate.clone(), acceptor.clone());
        tokio::spawn(async move {
            let stream: Box<dyn crate::mail::conn::Stream> = match security {
                ListenerSecurity::StartTls => Box::new(tcp),
                ListenerSecurity::Tls => {
                    match accept_tls(&acceptor, tcp, timeouts.login_idle).await {
                        Some(s) => s,
                        None => return,
                    }
                }
            };
            let local = Local::new(
                stream,
                security == ListenerSecurity::Tls,
                timeouts.login_idle,
            );
            let front = Front {
                peer: ip,
                allow_plain: gate.settings.allow_plain,
                acceptor,
                session: Some((gate.sessions.clone(), guard.id)),
            };
            let ctx = Ctx {
                gate,
                guard,
                peer: ip,
                protocol,
                front,
                timeouts,
            };
            serve(ctx, local).await;
        });
    }
}
