//! Verification: proves a connection works end to end with a call to Microsoft Graph with its
//! access token (`/me` for someone who signed in; for application access, the mailbox check).
//! Recorded in the history as `verified` or `failed`.

use tokio_util::sync::CancellationToken;

use super::{Engine, RefreshReport};
use crate::connection::ConnectionKind;
use crate::error::Result;
use crate::graph::{self as graph_api, GraphUser, users};
use crate::resource::Resource;

impl Engine {
    pub async fn verify(&self, id: &str) -> Result<RefreshReport> {
        let conn = self.store.get_connection(id)?;
        if conn.kind == ConnectionKind::Application {
            return self.refresh(id).await;
        }
        let token = match self.access_token(id, Resource::Graph).await {
            Ok(t) => t,
            Err(e) => {
                return Ok(RefreshReport {
                    connection: self.store.get_connection(id)?,
                    requested: true,
                    rotated: false,
                    error: Some(e.body()),
                });
            }
        };
        let graph = self
            .store
            .find_registration(&conn.registration_id)?
            .cloud()?
            .graph;
        let url = users::me_url(&graph)?;
        let now = self.clock.now();
        let answer = graph_api::get_json::<GraphUser>(
            &self.http,
            &url,
            &token.token,
            &CancellationToken::new(),
        )
        .await;
        let error = match answer {
            Ok(me) => {
                let who = me.address().unwrap_or(&conn.address).to_owned();
                self.store.add_event(
                    &conn.id,
                    now,
                    "verified",
                    &format!("Microsoft Graph answered for {who}"),
                    None,
                )?;
                None
            }
            Err(f) => {
                let summary = format!("Verification failed: {}", f.error.message());
                self.store
                    .add_event(&conn.id, now, "failed", &summary, f.error.detail())?;
                Some(f.error.body())
            }
        };
        self.emit_changed(&conn.id);
        Ok(RefreshReport {
            connection: self.store.get_connection(id)?,
            requested: true,
            rotated: false,
            error,
        })
    }
}
