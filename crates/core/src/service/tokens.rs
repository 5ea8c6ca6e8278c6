//! Tokens for mail programs and scripts: an access token per connection and resource
//! (`mailconn token`), the SASL initial responses built from it (`mailconn xoauth2`,
//! `oauthbearer`), the per-connection switch that lets programs fetch tokens at all, and the
//! connection's alias (a short name usable wherever an id or address is).
//!
//! A program's fetch is recorded in the connection's history with the program's name, folded
//! to one entry per program, resource and hour; a refused fetch likewise. The app's own checks
//! ([`TokenUse::App`]) need no switch and leave no such entry.

use serde::Serialize;
use ts_rs::TS;

use super::Service;
use crate::Sensitive;
use crate::connection::{Connection, validate_alias};
use crate::engine::AccessToken;
use crate::error::{Error, ErrorCode, Result};
use crate::resource::{Resource, default_mail_resource, default_resource};
use crate::sasl;

/// Who asks for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUse {
    /// A program or script (`mailconn token`, `xoauth2`, `oauthbearer`), by its process name:
    /// only when the connection lets programs fetch tokens; recorded in the history.
    Program { name: String },
    /// The app's own work (protocol checks, verification): no switch, no history entry here.
    App,
}

/// Which SASL mechanism an initial response is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `user=...^Aauth=Bearer ...^A^A` (what Exchange Online and Outlook.com take).
    Xoauth2,
    /// RFC 7628, with the server the program connects to when known.
    OAuthBearer {
        host: Option<String>,
        port: Option<u16>,
    },
}

/// A SASL initial response, raw and base64-encoded (what IMAP `AUTHENTICATE` and SMTP `AUTH`
/// send), with what it was made from.
#[derive(Debug)]
pub struct SaslResponse {
    pub raw: Sensitive<String>,
    pub base64: Sensitive<String>,
    pub resource: Resource,
    pub user: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Whether programs may fetch a connection's tokens, as the detail page shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProgramAccess {
    pub connection_id: String,
    pub allowed: bool,
}

/// The refusal when a connection does not let programs fetch its tokens.
fn not_allowed(conn: &Connection) -> Error {
    let who = conn.alias.as_deref().unwrap_or(&conn.address);
    Error::new(
        ErrorCode::NotAllowed,
        format!("Programs may not fetch the tokens of {}.", conn.address),
    )
    .with_fix(format!(
        "If the programs on this computer may use this mailbox, allow it: `mailconn programs {who} allow` \
         (or the \"Programs may use this connection\" switch on its page in the app)."
    ))
}

impl Service {
    /// An access token for a connection (id, address or alias) and resource, refreshed first
    /// when it is within the engine's margin of expiry; never starts a sign-in. For a program,
    /// the connection must let programs fetch tokens, and the fetch is recorded (folded per
    /// program, resource and hour). Marks the connection in use, so the refresh engine (also
    /// the desktop app's, sharing the keychain entry and the refresh lock) renews it ahead of
    /// expiry.
    pub async fn access_token(
        &self,
        selector: &str,
        resource: Resource,
        purpose: TokenUse,
    ) -> Result<AccessToken> {
        let conn = self.connection(selector).await?;
        if let TokenUse::Program { name } = &purpose
            && !conn.programs_allowed
        {
            self.record_program(&conn.id, "token_refused", name, resource, false)
                .await?;
            return Err(not_allowed(&conn));
        }
        let token = self.engine.access_token(&conn.id, resource).await?;
        if let TokenUse::Program { name } = &purpose {
            self.record_program(&conn.id, "token", name, resource, true)
                .await?;
        }
        Ok(token)
    }

    /// The resource a program gets when it names none: Microsoft Graph when the connection may
    /// use it, else IMAP, SMTP or POP (whichever it may use, in that order).
    pub async fn default_resource(&self, selector: &str) -> Result<Resource> {
        let c = self.connection(selector).await?;
        Ok(default_resource(
            &[&c.scopes_requested[..], &c.scopes_granted[..]].concat(),
        ))
    }

    /// The SASL initial response for a connection: XOAUTH2 or OAUTHBEARER with its address and
    /// an access token for `resource` (default: IMAP when the connection may use it, else SMTP,
    /// else POP; see [`default_mail_resource`]).
    pub async fn sasl_response(
        &self,
        selector: &str,
        resource: Option<Resource>,
        mechanism: &Mechanism,
        purpose: TokenUse,
    ) -> Result<SaslResponse> {
        let resource = if let Some(r) = resource {
            r
        } else {
            let c = self.connection(selector).await?;
            default_mail_resource(&[&c.scopes_requested[..], &c.scopes_granted[..]].concat())
        };
        let token = self.access_token(selector, resource, purpose).await?;
        let user = token.connection.address.clone();
        let raw = match mechanism {
            Mechanism::Xoauth2 => sasl::xoauth2(&user, &token.token),
            Mechanism::OAuthBearer { host, port } => {
                sasl::oauthbearer(&user, host.as_deref(), *port, &token.token)
            }
        };
        Ok(SaslResponse {
            base64: sasl::encode(&raw),
            raw,
            resource,
            user,
            expires_at: token.expires_at,
        })
    }

    /// Sets (or with `None` clears) a connection's alias. Aliases are unique without regard to
    /// case.
    pub async fn set_alias(&self, selector: &str, alias: Option<&str>) -> Result<Connection> {
        let alias = alias.map(validate_alias).transpose()?;
        let selector = selector.to_owned();
        let now = self.clock.now();
        self.blocking(move |store, _| {
            let conn = store.get_connection(&selector)?;
            if let Some(a) = &alias
                && let Ok(other) = store.get_connection(a)
                && other.id != conn.id
            {
                return Err(taken(a, &other));
            }
            if !store.set_alias(&conn.id, alias.as_deref(), now)? {
                let a = alias.as_deref().unwrap_or("");
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("Another connection already has the alias \"{a}\"."),
                )
                .with_fix("Choose another alias, or clear that one first (`mailconn alias OTHER --clear`)."));
            }
            let summary = match &alias {
                Some(a) => format!("Alias set to \"{a}\""),
                None => "Alias cleared".to_owned(),
            };
            store.add_event(&conn.id, now, "alias", &summary, None)?;
            store.get_connection(&conn.id)
        })
        .await
    }

    /// Whether programs may fetch a connection's tokens.
    pub async fn program_access(&self, selector: &str) -> Result<ProgramAccess> {
        let conn = self.connection(selector).await?;
        Ok(ProgramAccess {
            connection_id: conn.id,
            allowed: conn.programs_allowed,
        })
    }

    /// Lets programs fetch a connection's tokens, or stops them; recorded in its history.
    pub async fn set_program_access(&self, selector: &str, allowed: bool) -> Result<Connection> {
        let selector = selector.to_owned();
        let now = self.clock.now();
        let conn = self
            .blocking(move |store, _| {
                let conn = store.get_connection(&selector)?;
                if conn.programs_allowed != allowed {
                    store.set_programs_allowed(&conn.id, allowed, now)?;
                    let summary = if allowed {
                        "Programs may now fetch this connection's tokens"
                    } else {
                        "Programs may no longer fetch this connection's tokens"
                    };
                    store.add_event(&conn.id, now, "programs", summary, None)?;
                }
                store.get_connection(&conn.id)
            })
            .await?;
        self.engine.wake();
        Ok(conn)
    }

    /// One history entry per program, resource and hour for its fetches (or refusals).
    async fn record_program(
        &self,
        id: &str,
        kind: &'static str,
        program: &str,
        resource: Resource,
        handed_out: bool,
    ) -> Result<()> {
        let (id, program) = (id.to_owned(), program.to_owned());
        let now = self.clock.now();
        self.blocking(move |store, _| {
            let key = format!("{kind}:{program}:{resource}");
            let what = resource.label();
            store.add_folded_event(&id, now, kind, &key, |n| {
                let times = if n == 1 {
                    String::new()
                } else {
                    format!(" ({n} times within the hour)")
                };
                if handed_out {
                    format!("{program} fetched an access token for {what}{times}")
                } else {
                    format!("{program} was refused an access token for {what}: programs are not allowed{times}")
                }
            })?;
            Ok(())
        })
        .await
    }
}

fn taken(alias: &str, other: &Connection) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!(
            "\"{alias}\" already names the connection {} ({}).",
            other.address, other.id
        ),
    )
    .with_fix("Choose another alias.")
}
