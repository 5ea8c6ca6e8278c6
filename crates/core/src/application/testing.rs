//! Unit-test support: a tiny token endpoint and Graph on 127.0.0.1 (the real stand-ins under
//! `tests/` serve the integration tests), and a stored application registration pointing at it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{NaiveDate, Utc};

use crate::Sensitive;
use crate::cloud::CloudId;
use crate::keychain::MemoryKeychain;
use crate::registration::{Audience, ClientKind, Registration, RegistrationInput, Usage};
use crate::scopes::Preset;
use crate::service::registrations as service;
use crate::store::Store;

/// An unsigned JWT-shaped token with these claims.
pub fn jwt(claims: &serde_json::Value) -> String {
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2ln",
        b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(claims)
    )
}

/// One Graph request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub address: String,
    pub at: Instant,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct Shared {
    ttl: u64,
    pub token_hits: AtomicUsize,
    /// Non-zero: the token endpoint answers "admin consent missing" (AADSTS65001).
    pub fail: AtomicUsize,
    pub roles: Mutex<Vec<String>>,
    /// The next this-many Graph requests answer 429 with `Retry-After: 1`.
    pub throttle: AtomicUsize,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub seen: Mutex<Vec<Seen>>,
    /// Tokens Graph refuses (401), as if revoked.
    pub refused: Mutex<Vec<String>>,
    /// Non-zero: the token endpoint issues opaque tokens (`EwB...`), and Graph enforces `roles`
    /// for them: no User.Read.All, 403 `Authorization_RequestDenied` on a lookup; no mail role,
    /// 403 `ErrorAccessDenied` on the inbox.
    pub opaque: AtomicUsize,
}

/// The fake identity provider + Graph. Shares its counters with the test.
#[derive(Debug)]
pub struct Fake {
    pub base: String,
    pub shared: Arc<Shared>,
}

const DEFAULT_ROLES: [&str; 3] = ["Mail.ReadWrite", "Mail.Send", "User.Read.All"];
pub const TENANT_ID: &str = "aaaaaaaa-0000-4000-8000-000000000001";

impl Fake {
    /// Starts on a free port; tokens live `ttl` seconds.
    pub async fn start(ttl: u64) -> Self {
        let shared = Arc::new(Shared {
            ttl,
            roles: Mutex::new(DEFAULT_ROLES.map(String::from).to_vec()),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/users/{address}", get(user))
            .route("/v1.0/users/{id}/mailFolders/inbox/messages", get(inbox))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, shared }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

fn json(
    status: StatusCode,
    body: &serde_json::Value,
    extra: &[(header::HeaderName, String)],
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    for (k, v) in extra {
        headers.insert(k.clone(), v.parse().unwrap());
    }
    (status, headers, body.to_string()).into_response()
}

async fn token(State(s): State<Arc<Shared>>) -> Response {
    let n = s.token_hits.fetch_add(1, Ordering::SeqCst) + 1;
    // Long enough for concurrent callers to pile up behind the first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    if s.fail.load(Ordering::SeqCst) != 0 {
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented.",
                "error_codes": [65001], "trace_id": "trace-x", "correlation_id": "corr-x"}),
            &[],
        );
    }
    let roles = s.roles.lock().unwrap().clone();
    let access = if s.opaque.load(Ordering::SeqCst) != 0 {
        format!("EwBopaque{n:08}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    } else {
        jwt(
            &serde_json::json!({"roles": roles, "tid": TENANT_ID, "n": n, "exp": Utc::now().timestamp() + 3600}),
        )
    };
    json(
        StatusCode::OK,
        &serde_json::json!({"access_token": access, "token_type": "Bearer", "expires_in": s.ttl}),
        &[],
    )
}

fn has_role(s: &Shared, any: &[&str]) -> bool {
    s.roles
        .lock()
        .unwrap()
        .iter()
        .any(|r| any.iter().any(|a| a.eq_ignore_ascii_case(r)))
}

fn graph_error(status: StatusCode, code: &str, extra: &[(header::HeaderName, String)]) -> Response {
    json(
        status,
        &serde_json::json!({"error": {"code": code, "message": format!("{code} says no."),
            "innerError": {"request-id": format!("req-{code}"), "date": "2026-05-01T10:00:00"}}}),
        extra,
    )
}

async fn user(
    State(s): State<Arc<Shared>>,
    Path(address): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let local = address.split('@').next().unwrap_or_default().to_owned();
    let answer = if bearer.is_empty() || s.refused.lock().unwrap().contains(&bearer) {
        graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", &[])
    } else if s
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            &[(header::RETRY_AFTER, "1".to_owned())],
        )
    } else if bearer.starts_with("EwB") && !has_role(&s, &["User.Read.All"]) {
        graph_error(StatusCode::FORBIDDEN, "Authorization_RequestDenied", &[])
    } else if local.starts_with("denied") {
        graph_error(StatusCode::FORBIDDEN, "ErrorAccessDenied", &[])
    } else if local.starts_with("unknown") {
        graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", &[])
    } else {
        let mut names = HashMap::new();
        names.insert("info", "Info desk");
        json(
            StatusCode::OK,
            &serde_json::json!({"id": format!("id-{local}"), "displayName": names.get(local.as_str()).copied().unwrap_or(&local),
                "mail": address.to_ascii_lowercase(), "userPrincipalName": address.to_ascii_lowercase()}),
            &[],
        )
    };
    s.seen.lock().unwrap().push(Seen {
        address,
        at: Instant::now(),
        status: answer.status().as_u16(),
    });
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}

/// The inbox of a user found by [`user`]: closed for `closed*`, missing for `nomailbox*`.
async fn inbox(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let local = id.trim_start_matches("id-");
    let opaque = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer EwB"));
    let denied = opaque && !has_role(&s, &["Mail.Read", "Mail.ReadWrite"]);
    let answer = if denied || local.starts_with("closed") {
        graph_error(StatusCode::FORBIDDEN, "ErrorAccessDenied", &[])
    } else if local.starts_with("nomailbox") {
        graph_error(StatusCode::NOT_FOUND, "MailboxNotEnabledForRESTAPI", &[])
    } else {
        json(StatusCode::OK, &serde_json::json!({"value": []}), &[])
    };
    s.seen.lock().unwrap().push(Seen {
        address: format!("inbox:{id}"),
        at: Instant::now(),
        status: answer.status().as_u16(),
    });
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}

/// A store with one confidential registration for application access against `base` (both the
/// identity provider and Graph), and its secret in a memory keychain.
pub fn setup(base: &str) -> (Store, MemoryKeychain, Registration) {
    setup_with(base, Usage::Application, TENANT_ID)
}

pub fn setup_with(base: &str, usage: Usage, tenant: &str) -> (Store, MemoryKeychain, Registration) {
    let (store, secrets) = (Store::open_in_memory().unwrap(), MemoryKeychain::new());
    let input = RegistrationInput {
        name: "Contoso org".into(),
        client_id: "cccccccc-0000-4000-8000-000000000001".into(),
        kind: ClientKind::Confidential,
        tenant: tenant.into(),
        cloud: CloudId::Custom,
        authority_url: Some(base.into()),
        graph_url: Some(base.into()),
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage,
        audience: Audience::AnyOrganization,
        preset: Preset::Application,
        redirect_uri: None,
        secret: Some(Sensitive::from("Wq18Q~mailconn.WebCurrent_Secret-val0001")),
        secret_expires: NaiveDate::from_ymd_opt(2099, 1, 1),
        secret_label: None,
    };
    let (reg, _) = service::create(&store, &secrets, &input, Utc::now()).unwrap();
    (store, secrets, reg)
}
