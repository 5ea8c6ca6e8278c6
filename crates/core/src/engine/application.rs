//! Application-access mailboxes have no refresh token: their "refresh" is a check through Graph
//! with the app-only token (kept and renewed by the shared [`AppTokenCache`]), which stores the
//! mailbox's state (active, or no access with the reason).
//!
//! [`AppTokenCache`]: crate::application::AppTokenCache

use tokio_util::sync::CancellationToken;

use super::Engine;
use super::classify::{self, Failure};
use super::flight::Got;
use crate::application::mailbox::{Mailboxes, RowStatus};
use crate::connection::{Connection, StateKind};
use crate::error::{Error, Result};

impl Engine {
    pub(super) async fn check_application(&self, conn: &Connection) -> Result<Got> {
        let mailboxes = Mailboxes {
            store: &self.store,
            secrets: self.secrets.as_ref(),
            http: &self.http,
            tokens: &self.app_tokens,
        };
        let cancel = CancellationToken::new();
        let checked = mailboxes.recheck(conn, &cancel).await;
        let failure = match checked {
            Ok(row) if row.status != RowStatus::Failed => {
                self.reschedule(&conn.id)?;
                self.after_change(&conn.id);
                let token = self
                    .app_tokens
                    .token(
                        &self.store.find_registration(&conn.registration_id)?,
                        self.secrets.as_ref(),
                        &self.http,
                    )
                    .await?;
                return Ok(Got::Token {
                    token: token.access_token.clone(),
                    expires_at: token.expires_at,
                    granted: token.roles.clone(),
                    rotated: false,
                    requested: true,
                });
            }
            Ok(row) => {
                let body = row
                    .problem
                    .unwrap_or_else(|| Error::internal("the mailbox could not be checked").body());
                Failure::Transient {
                    error: Error::new(body.code, body.message)
                        .with_detail(body.detail.unwrap_or_default()),
                    retry_after: None,
                }
            }
            // The app's token works (or failed for the app as a whole); what stops here is this
            // mailbox being out of reach.
            Err(error) => match classify::classify(error, None, None) {
                Failure::Permanent {
                    state: StateKind::NeedsSignIn,
                    error,
                } => Failure::Permanent {
                    state: StateKind::NoAccess,
                    error,
                },
                other => other,
            },
        };
        self.record_failure(conn, &failure)?;
        Err(failure.into_error())
    }
}
