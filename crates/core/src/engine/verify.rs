//! Verification: proves a connection works end to end with a call to Microsoft Graph with its
//! access token (`/me` for someone who signed in; for application access, the mailbox check).
//! Recorded in the history as `verified` or `failed`.

use tokio_util::sync::CancellationToken;

use super::{Engine, RefreshReport};
use crate::application::graph::{self as graph_api, GraphUser};
use crate::connection::ConnectionKind;
use crate::error::{Error, Result};

impl Engine {
    pub async fn verify(&self, id: &str) -> Result<RefreshReport> {
        let conn = self.store.get_connection(id)?;
        if conn.kind == ConnectionKind::Application {
            return self.refresh(id).await;
        }
        let token = match self.access_token(id).await {
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
        let mut url = url::Url::parse(&graph).map_err(|e| {
            Error::invalid("graph_url", format!("The Graph address is not a URL: {e}"))
        })?;
        url.path_segments_mut()
            .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
            .pop_if_empty()
            .extend(["v1.0", "me"]);
        url.set_query(Some("$select=id,displayName,mail,userPrincipalName"));
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
