//! What a refresh needs besides the connection: its registration, the stored refresh token and,
//! for a confidential app, the client secret. A missing one says who must act; a keychain that
//! cannot answer right now is retried like a network failure.

use super::Engine;
use super::classify::Failure;
use crate::Sensitive;
use crate::connection::{Connection, StateKind};
use crate::error::{Error, ErrorCode};
use crate::keychain::{KeychainError, SecretKey};
use crate::registration::{ClientKind, Registration};

/// Anything that went wrong on our side while storing: retried like a network failure.
pub(super) fn transient(error: impl Into<Error>) -> Failure {
    Failure::Transient {
        error: error.into(),
        retry_after: None,
    }
}

/// What a token request needs besides the connection.
pub(super) struct Credentials {
    pub registration: Registration,
    pub refresh_token: Sensitive<String>,
    /// Confidential apps only.
    pub secret: Option<Sensitive<String>>,
}

impl Engine {
    /// The registration, the stored refresh token and (confidential apps) the client secret.
    pub(super) fn credentials(&self, conn: &Connection) -> Result<Credentials, Failure> {
        let stop = |state, error| Failure::Permanent { state, error };
        let reg = self
            .store
            .find_registration(&conn.registration_id)
            .map_err(|e| stop(StateKind::NeedsSignIn, e))?;
        let refresh_token = self
            .secrets
            .get(&SecretKey::refresh_token(&conn.id))
            .map_err(|e| match e {
                // A sealed token changed in the database never opens again: sign in again.
                KeychainError::SealedDamaged(_) => stop(StateKind::NeedsSignIn, e.into()),
                e => transient(e),
            })?
            .ok_or_else(|| {
                let e = Error::new(
                    ErrorCode::NeedsSignIn,
                    "No refresh token is stored for this connection.",
                );
                stop(StateKind::NeedsSignIn, e.with_fix("Sign in again."))
            })?;
        let secret = match reg.kind {
            ClientKind::Confidential => Some(
                self.secrets
                    .get(&SecretKey::client_secret(&reg.id))
                    .map_err(transient)?
                    .ok_or_else(|| {
                        let e = Error::invalid(
                            "secret",
                            format!("No client secret is stored for \"{}\".", reg.name),
                        );
                        let fix = "Rotate the app's client secret: paste a new secret's Value.";
                        stop(StateKind::SecretExpired, e.with_fix(fix))
                    })?,
            ),
            ClientKind::Public => None,
        };
        Ok(Credentials {
            registration: reg,
            refresh_token,
            secret,
        })
    }
}
