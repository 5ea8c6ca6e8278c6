//! Browser sign-in: authorization code + PKCE (S256) + `state` + `nonce`, redirected to the
//! loopback listener, redeemed with the `oauth2` crate. Public clients send no secret;
//! confidential clients send theirs in the token request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use chrono::Utc;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenUrl,
};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::deep_link::{DeepLinks, REDIRECT_URI, is_deep_link};
use super::identity::{Identity, of_tokens};
use super::loopback::{Callback, Loopback, LoopbackHost};
use crate::Sensitive;
use crate::cloud::Cloud;
use crate::error::{Error, ErrorCode, Result};
use crate::oauth::Tokens;
use crate::oauth::{Client, token_error};

/// How long to wait for the browser by default: long enough to find a password and pass MFA.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Everything needed to start a sign-in.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub cloud: Cloud,
    pub tenant: String,
    pub client_id: String,
    pub secret: Option<Sensitive<String>>,
    /// The redirect URI as registered (`http://localhost`, `http://localhost/callback`, ...).
    pub registered_redirect_uri: String,
    pub scopes: Vec<String>,
    /// `select_account` unless the caller chooses `login`, `consent` or `none`.
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
}

type AuthClient = Client<EndpointSet, EndpointNotSet, EndpointSet>;

/// Where the redirect arrives. Dropping it (a sign-in cancelled or abandoned) closes the
/// loopback listener or forgets the deep-link `state`.
#[derive(Debug)]
enum Receiver {
    Loopback(Loopback),
    DeepLink(DeepLinkWait),
}

/// A deep-link sign-in's place in the router, given up when dropped.
#[derive(Debug)]
struct DeepLinkWait {
    links: Arc<DeepLinks>,
    state: String,
    rx: Option<oneshot::Receiver<Callback>>,
}

impl Drop for DeepLinkWait {
    fn drop(&mut self) {
        self.links.forget(&self.state);
    }
}

/// A sign-in waiting for the browser. Dropping it frees its listener or deep-link state.
#[derive(Debug)]
pub struct Pending {
    url: String,
    receiver: Receiver,
    verifier: PkceCodeVerifier,
    nonce: String,
    client: AuthClient,
    client_id: String,
    scopes: Vec<String>,
}

/// The host, port and path to listen on for a registered loopback redirect URI. Microsoft ignores
/// the port of loopback URIs and treats a URI without a path as ending in `/`. The host is sent
/// back exactly as registered (`localhost`, `127.0.0.1` or `[::1]`).
#[cfg(test)]
fn loopback_target(registered: &str) -> Result<(u16, String)> {
    loopback_target_host(registered).map(|(_, port, path)| (port, path))
}

fn loopback_target_host(registered: &str) -> Result<(LoopbackHost, u16, String)> {
    let url = Url::parse(registered).map_err(|_| {
        Error::invalid(
            "redirect_uri",
            format!("The registered redirect URI \"{registered}\" is not a valid URI."),
        )
    })?;
    let loopback = url.scheme() == "http" && crate::cloud::is_loopback(&url);
    if !loopback {
        return Err(Error::invalid("redirect_uri", "Browser sign-in needs an http://localhost redirect URI registered for the app.")
            .with_fix("Add http://localhost as a redirect URI (Mobile and desktop applications platform), or use device code sign-in."));
    }
    let host = match url.host() {
        Some(url::Host::Domain(_)) => LoopbackHost::Localhost,
        Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => LoopbackHost::Ipv4,
        Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => LoopbackHost::Ipv6,
        _ => {
            return Err(Error::invalid(
                "redirect_uri",
                format!("The registered redirect URI \"{registered}\" uses a loopback address other than 127.0.0.1 or [::1]."),
            )
            .with_fix("Register http://localhost or http://127.0.0.1 as the redirect URI."));
        }
    };
    Ok((host, url.port().unwrap_or(0), url.path().to_owned()))
}

/// Starts a sign-in. `deep_links` is the app's deep-link router; without it (the CLI) only
/// loopback redirect URIs work.
pub async fn begin(sign_in: SignIn, deep_links: Option<&Arc<DeepLinks>>) -> Result<Pending> {
    let csrf = CsrfToken::new_random();
    let (receiver, redirect) = if is_deep_link(&sign_in.registered_redirect_uri) {
        let links = deep_links.ok_or_else(|| {
            Error::invalid("redirect_uri", "The mailconn://auth redirect reaches only the desktop app.")
                .with_fix("Register http://localhost as well and use it here, or sign in from the desktop app.")
        })?;
        if sign_in.secret.is_some() {
            return Err(Error::invalid(
                "redirect_uri",
                "The mailconn://auth redirect is for public (desktop) apps only.",
            ));
        }
        let rx = links.expect(csrf.secret());
        (
            Receiver::DeepLink(DeepLinkWait {
                links: links.clone(),
                state: csrf.secret().clone(),
                rx: Some(rx),
            }),
            REDIRECT_URI.to_owned(),
        )
    } else {
        let (host, port, path) = loopback_target_host(&sign_in.registered_redirect_uri)?;
        let loopback = Loopback::bind_host(host, port, &path, csrf.secret()).await?;
        // The host exactly as registered: the listener holds what it resolves to.
        let redirect = format!("http://{}:{}{path}", host.as_str(), loopback.port());
        (Receiver::Loopback(loopback), redirect)
    };
    let invalid_url = |e: url::ParseError| Error::internal(format!("bad endpoint URL: {e}"));
    let mut client = Client::new(ClientId::new(sign_in.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(sign_in.cloud.authorize_url(&sign_in.tenant)).map_err(invalid_url)?,
        )
        .set_token_uri(
            TokenUrl::new(sign_in.cloud.token_url(&sign_in.tenant)).map_err(invalid_url)?,
        )
        .set_redirect_uri(RedirectUrl::new(redirect).map_err(invalid_url)?)
        .set_auth_type(oauth2::AuthType::RequestBody);
    if let Some(secret) = &sign_in.secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().clone()));
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let prompt = sign_in
        .prompt
        .clone()
        .unwrap_or_else(|| "select_account".into());
    let mut request = client
        .authorize_url(|| csrf.clone())
        .add_scopes(sign_in.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.clone())
        .add_extra_param("prompt", prompt);
    if let Some(hint) = sign_in
        .login_hint
        .as_deref()
        .filter(|h| !h.trim().is_empty())
    {
        request = request.add_extra_param("login_hint", hint.trim().to_owned());
    }
    let (url, _) = request.url();
    tracing::info!(redirect = %redirect_log(&receiver), tenant = %sign_in.tenant, "browser sign-in started");
    Ok(Pending {
        url: url.into(),
        receiver,
        verifier,
        nonce,
        client,
        client_id: sign_in.client_id,
        scopes: sign_in.scopes,
    })
}

impl Pending {
    /// The authorization URL to open in the browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port (0 for a deep-link sign-in).
    pub fn port(&self) -> u16 {
        match &self.receiver {
            Receiver::Loopback(l) => l.port(),
            Receiver::DeepLink(_) => 0,
        }
    }

    /// Waits for the redirect, then redeems the code. No token request is made unless a code with
    /// the right `state` arrived.
    pub async fn complete(
        self,
        http: &reqwest::Client,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(Tokens, Identity)> {
        let Pending {
            receiver,
            verifier,
            nonce,
            client,
            client_id,
            scopes,
            ..
        } = self;
        let callback = match receiver {
            Receiver::Loopback(loopback) => loopback.wait(timeout, cancel).await?,
            Receiver::DeepLink(mut wait) => {
                let rx = wait.rx.take().expect("waited once");
                // `wait` is dropped when this arm ends: the state is forgotten in every case.
                wait_deep_link(rx, timeout, cancel).await?
            }
        };
        let code = match callback {
            Callback::Code(code) => code,
            Callback::Error(ms) => return Err(ms.to_error()),
        };
        let response = client
            .exchange_code(AuthorizationCode::new(code.expose().clone()))
            .set_pkce_verifier(verifier)
            .add_extra_param("scope", scopes.join(" "))
            .request_async(&crate::http::capped(http))
            .await
            .map_err(|e| token_error("The identity provider", &e))?;
        let tokens = Tokens::from_response(&response, &scopes, Utc::now());
        let identity = of_tokens(&tokens, &client_id, Some(&nonce))?;
        tracing::info!(account = %identity.address, "browser sign-in completed");
        Ok((tokens, identity))
    }
}

fn redirect_log(receiver: &Receiver) -> String {
    match receiver {
        Receiver::Loopback(l) => format!("{}:{}", l.host().as_str(), l.port()),
        Receiver::DeepLink(_) => REDIRECT_URI.to_owned(),
    }
}

async fn wait_deep_link(
    rx: oneshot::Receiver<Callback>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Callback> {
    tokio::select! {
        r = rx => r.map_err(|_| Error::internal("the deep-link router stopped")),
        () = tokio::time::sleep(timeout) => Err(Error::new(ErrorCode::Timeout, "No sign-in came back from the browser in time.")
            .with_fix("Start the sign-in again; if the browser asked whether to open Mail Connections, allow it.")),
        () = cancel.cancelled() => Err(Error::new(ErrorCode::Cancelled, "The sign-in was cancelled.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_follow_the_registered_uri() {
        assert_eq!(
            loopback_target("http://localhost").unwrap(),
            (0, "/".into())
        );
        assert_eq!(
            loopback_target("http://localhost/").unwrap(),
            (0, "/".into())
        );
        assert_eq!(
            loopback_target("http://localhost/callback").unwrap(),
            (0, "/callback".into())
        );
        assert_eq!(
            loopback_target("http://localhost:8400/cb").unwrap(),
            (8400, "/cb".into())
        );
        let err = loopback_target("https://app.example.com/cb").unwrap_err();
        assert_eq!(err.field(), Some("redirect_uri"));
        assert!(
            err.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("device code")
        );
    }

    #[tokio::test]
    async fn the_authorization_url_carries_pkce_state_nonce_and_prompt() {
        let sign_in = SignIn {
            cloud: Cloud::custom("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap(),
            tenant: "common".into(),
            client_id: "c1".into(),
            secret: None,
            registered_redirect_uri: "http://localhost/callback".into(),
            scopes: vec!["openid".into(), "offline_access".into(), "Mail.Read".into()],
            prompt: None,
            login_hint: Some("alice@contoso.test".into()),
        };
        let pending = begin(sign_in, None).await.unwrap();
        let url = Url::parse(pending.url()).unwrap();
        assert!(
            url.as_str()
                .starts_with("http://127.0.0.1:9/common/oauth2/v2.0/authorize?")
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43);
        assert!(q["state"].len() >= 16);
        assert!(q["nonce"].len() >= 16);
        assert_eq!(q["prompt"], "select_account");
        assert_eq!(q["login_hint"], "alice@contoso.test");
        assert_eq!(q["scope"], "openid offline_access Mail.Read");
        assert_eq!(
            q["redirect_uri"],
            format!("http://localhost:{}/callback", pending.port())
        );
        assert_eq!(q["response_type"], "code");
    }
}

#[cfg(test)]
mod deep_link_tests {
    use super::*;

    fn sign_in(redirect: &str) -> SignIn {
        SignIn {
            cloud: Cloud::custom("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap(),
            tenant: "common".into(),
            client_id: "c1".into(),
            secret: None,
            registered_redirect_uri: redirect.into(),
            scopes: vec!["openid".into()],
            prompt: None,
            login_hint: None,
        }
    }

    #[tokio::test]
    async fn deep_link_sign_in_sends_the_scheme_and_waits_on_the_router() {
        let links = Arc::new(DeepLinks::new());
        let pending = begin(sign_in("mailconn://auth"), Some(&links))
            .await
            .unwrap();
        let url = Url::parse(pending.url()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["redirect_uri"], "mailconn://auth");
        links
            .deliver(&format!(
                "mailconn://auth?error=access_denied&error_description=AADSTS65004%3A+no&state={}",
                q["state"]
            ))
            .unwrap();
        let err = pending
            .complete(
                &reqwest::Client::new(),
                Duration::from_secs(5),
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.detail().unwrap().aadsts, Some(65004));
    }

    #[tokio::test]
    async fn the_redirect_host_is_the_registered_one() {
        for (registered, host) in [
            ("http://localhost/cb", "localhost"),
            ("http://127.0.0.1/cb", "127.0.0.1"),
            ("http://[::1]/cb", "[::1]"),
        ] {
            if host == "[::1]" && std::net::TcpListener::bind("[::1]:0").is_err() {
                continue;
            }
            let pending = begin(sign_in(registered), None).await.unwrap();
            let url = Url::parse(pending.url()).unwrap();
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            assert_eq!(
                q["redirect_uri"],
                format!("http://{host}:{}/cb", pending.port())
            );
        }
        let err = begin(sign_in("http://127.0.0.2/cb"), None)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("redirect_uri"));
        assert!(err.message().contains("other than 127.0.0.1"));
    }

    #[tokio::test]
    async fn dropping_a_pending_sign_in_frees_the_fixed_port_and_the_deep_link_state() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let registered = format!("http://127.0.0.1:{port}/cb");
        let first = begin(sign_in(&registered), None).await.unwrap();
        assert_eq!(first.port(), port);
        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = begin(sign_in(&registered), None).await.unwrap();
        assert_eq!(second.port(), port);

        let links = Arc::new(DeepLinks::new());
        let pending = begin(sign_in("mailconn://auth"), Some(&links))
            .await
            .unwrap();
        let url = Url::parse(pending.url()).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        drop(pending);
        let err = links
            .deliver(&format!("mailconn://auth?code=c&state={state}"))
            .unwrap_err();
        assert!(
            err.message()
                .contains("does not belong to a sign-in in progress")
        );
    }

    #[tokio::test]
    async fn the_cli_cannot_receive_deep_links() {
        let err = begin(sign_in("mailconn://auth"), None).await.unwrap_err();
        assert_eq!(err.field(), Some("redirect_uri"));
        assert!(err.message().contains("only the desktop app"));
    }
}
