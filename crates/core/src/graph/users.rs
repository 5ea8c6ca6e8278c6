//! Mailboxes and people in Microsoft Graph: a user or shared mailbox by address (application
//! access), its inbox (whether the app may open it), and the signed-in user (`/me`).

use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Failure, Problem, get_json};
use crate::Sensitive;
use crate::error::{Error, Result};

/// A mailbox (user or shared) as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

impl GraphUser {
    /// The address to show: the primary SMTP address, else the sign-in name.
    pub fn address(&self) -> Option<&str> {
        self.mail
            .as_deref()
            .or(self.user_principal_name.as_deref())
            .filter(|a| !a.is_empty())
    }
}

/// `{graph}/v1.0/me?$select=id,displayName,mail,userPrincipalName`: the signed-in user.
pub fn me_url(graph_base: &str) -> Result<Url> {
    let mut url = base(graph_base)?;
    url.path_segments_mut()
        .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
        .pop_if_empty()
        .extend(["v1.0", "me"]);
    url.set_query(Some("$select=id,displayName,mail,userPrincipalName"));
    Ok(url)
}

fn base(graph_base: &str) -> Result<Url> {
    Url::parse(graph_base)
        .map_err(|e| Error::invalid("graph_url", format!("The Graph address is not a URL: {e}")))
}

/// `{graph}/v1.0/users/{address}?$select=id,displayName,mail,userPrincipalName`; the address is
/// one path segment, percent-encoded as needed.
pub fn user_url(graph_base: &str, address: &str) -> Result<Url> {
    let mut url = base(graph_base)?;
    url.path_segments_mut()
        .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
        .pop_if_empty()
        .extend(["v1.0", "users", address]);
    url.set_query(Some("$select=id,displayName,mail,userPrincipalName"));
    Ok(url)
}

/// Looks a mailbox up by address (or id).
pub async fn get_user(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    address: &str,
    cancel: &CancellationToken,
) -> std::result::Result<GraphUser, Failure> {
    let url = user_url(graph_base, address).map_err(|e| Failure::new(Problem::Other, e))?;
    get_json(http, &url, token, cancel).await
}

/// `{graph}/v1.0/users/{id}/mailFolders/inbox/messages?$top=1&$select=id`: the cheapest call that
/// opens the mailbox itself (the directory answers for users without one, or closed to the app).
pub fn inbox_url(graph_base: &str, user_id: &str) -> Result<Url> {
    let mut url = user_url(graph_base, user_id)?;
    url.path_segments_mut()
        .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
        .extend(["mailFolders", "inbox", "messages"]);
    url.set_query(Some("$top=1&$select=id"));
    Ok(url)
}

/// Opens the mailbox's inbox (reads at most one message id) to learn whether the app may.
pub async fn probe_mailbox(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    user_id: &str,
    cancel: &CancellationToken,
) -> std::result::Result<(), Failure> {
    let url = inbox_url(graph_base, user_id).map_err(|e| Failure::new(Problem::Other, e))?;
    get_json::<serde_json::Value>(http, &url, token, cancel)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_urls_encode_the_address_as_one_segment() {
        let url = user_url("https://graph.microsoft.com", "info@contoso.com").unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/users/info@contoso.com?$select=id,displayName,mail,userPrincipalName"
        );
        let url = user_url("http://127.0.0.1:9/graph/", "a/b?c#d@x.test").unwrap();
        assert_eq!(url.path(), "/graph/v1.0/users/a%2Fb%3Fc%23d@x.test");
        let url = inbox_url(
            "https://graph.microsoft.com",
            "5a000000-0000-4000-8000-000000000001",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/users/5a000000-0000-4000-8000-000000000001/mailFolders/inbox/messages?$top=1&$select=id"
        );
    }

    #[test]
    fn the_signed_in_user() {
        assert_eq!(
            me_url("http://127.0.0.1:9/graph").unwrap().as_str(),
            "http://127.0.0.1:9/graph/v1.0/me?$select=id,displayName,mail,userPrincipalName"
        );
    }
}
