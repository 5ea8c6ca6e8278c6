//! Microsoft clouds and their endpoints: global, US Government (GCC High, `DoD`), China (21Vianet),
//! and a custom cloud whose authority and Graph URLs the user gives (proxies, test providers).
//!
//! Endpoint paths are the same under every authority host; only hosts differ. Tokens never cross
//! clouds. This module builds URLs; it does not call them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum CloudId {
    /// Microsoft's global cloud (also Microsoft 365 GCC moderate).
    Global,
    GccHigh,
    Dod,
    China,
    Custom,
}

impl CloudId {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudId::Global => "global",
            CloudId::GccHigh => "gcc-high",
            CloudId::Dod => "dod",
            CloudId::China => "china",
            CloudId::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CloudId::Global,
            CloudId::GccHigh,
            CloudId::Dod,
            CloudId::China,
            CloudId::Custom,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A cloud's endpoints, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Cloud {
    pub id: CloudId,
    /// e.g. `https://login.microsoftonline.com` (no trailing slash).
    pub authority: String,
    /// e.g. `https://graph.microsoft.com` (no trailing slash).
    pub graph: String,
    /// The Graph resource identifier used in `.default` scopes.
    pub graph_resource: String,
    /// The Azure portal for this cloud.
    pub portal: String,
    /// Whether personal Microsoft accounts exist here (only in the global cloud).
    pub personal_accounts: bool,
}

impl Cloud {
    /// A built-in cloud. For [`CloudId::Custom`] use [`Cloud::custom`].
    pub fn builtin(id: CloudId) -> Option<Self> {
        let (authority, graph, portal) = match id {
            CloudId::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://portal.azure.com",
            ),
            CloudId::GccHigh => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://portal.azure.us",
            ),
            CloudId::Dod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
                "https://portal.azure.us",
            ),
            CloudId::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://portal.azure.cn",
            ),
            CloudId::Custom => return None,
        };
        Some(Self {
            id,
            authority: authority.into(),
            graph: graph.into(),
            graph_resource: graph.into(),
            portal: portal.into(),
            personal_accounts: id == CloudId::Global,
        })
    }

    /// A custom cloud: the identity provider and Graph are where the user says. Scopes keep the
    /// global Graph resource identifier, which is what proxies and test providers expect.
    pub fn custom(authority: &str, graph: &str) -> Result<Self> {
        let authority = base_url("authority_url", authority)?;
        let graph = base_url("graph_url", graph)?;
        Ok(Self {
            id: CloudId::Custom,
            authority,
            graph,
            graph_resource: "https://graph.microsoft.com".into(),
            portal: "https://portal.azure.com".into(),
            personal_accounts: true,
        })
    }

    /// Resolves a cloud from stored fields.
    pub fn resolve(id: CloudId, authority: Option<&str>, graph: Option<&str>) -> Result<Self> {
        match id {
            CloudId::Custom => Self::custom(authority.unwrap_or(""), graph.unwrap_or("")),
            builtin => Ok(Self::builtin(builtin).expect("built-in cloud")),
        }
    }

    fn tenant_url(&self, tenant: &str, path: &str) -> String {
        format!("{}/{}/{}", self.authority, tenant, path)
    }

    pub fn authorize_url(&self, tenant: &str) -> String {
        self.tenant_url(tenant, "oauth2/v2.0/authorize")
    }

    pub fn token_url(&self, tenant: &str) -> String {
        self.tenant_url(tenant, "oauth2/v2.0/token")
    }

    pub fn device_code_url(&self, tenant: &str) -> String {
        self.tenant_url(tenant, "oauth2/v2.0/devicecode")
    }

    pub fn discovery_url(&self, tenant: &str) -> String {
        self.tenant_url(tenant, "v2.0/.well-known/openid-configuration")
    }

    /// The `.default` scope for application access to Graph.
    pub fn graph_default_scope(&self) -> String {
        format!("{}/.default", self.graph_resource)
    }

    /// The admin-consent link. Microsoft refuses `common` here, so `organizations` stands in.
    pub fn admin_consent_url(&self, tenant: &str, client_id: &str, redirect_uri: &str) -> String {
        let tenant = if tenant == "common" {
            "organizations"
        } else {
            tenant
        };
        let mut url =
            Url::parse(&self.tenant_url(tenant, "v2.0/adminconsent")).expect("valid base");
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("scope", &self.graph_default_scope())
            .append_pair("redirect_uri", redirect_uri);
        url.into()
    }

    /// The portal page of one app registration (`section`: `Overview`, `Credentials`, `CallAnAPI`...).
    pub fn portal_app_url(&self, client_id: &str, section: &str) -> String {
        format!(
            "{}/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/{section}/appId/{client_id}",
            self.portal
        )
    }

    /// The portal page where new app registrations are created.
    pub fn portal_new_registration_url(&self) -> String {
        format!(
            "{}/#view/Microsoft_AAD_RegisteredApps/CreateApplicationBlade",
            self.portal
        )
    }
}

/// Checks a user-given base URL: absolute http(s), http only for loopback, no query or fragment.
pub fn base_url(field: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid(
            field,
            "Enter the URL, for example https://login.example.com.",
        ));
    }
    // URL parsing drops tabs and line breaks inside a URL; the stored text must not keep them.
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            "The URL must not contain spaces, tabs or line breaks.",
        ));
    }
    let url = Url::parse(raw).map_err(|_| {
        Error::invalid(
            field,
            format!("\"{raw}\" is not an absolute URL; it must start with https://."),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(
                field,
                "Use https://. Plain http:// is allowed only for 127.0.0.1 or localhost.",
            ));
        }
        _ => return Err(Error::invalid(field, "The URL must start with https://.")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            field,
            "The URL must not contain a user name or password (user:password@...).",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            field,
            "The URL must not have a query (?...) or fragment (#...).",
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_endpoints() {
        let c = Cloud::builtin(CloudId::Global).unwrap();
        assert_eq!(
            c.token_url("common"),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            c.discovery_url("contoso.com"),
            "https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            c.graph_default_scope(),
            "https://graph.microsoft.com/.default"
        );
        let dod = Cloud::builtin(CloudId::Dod).unwrap();
        assert_eq!(dod.graph, "https://dod-graph.microsoft.us");
        assert!(!dod.personal_accounts);
        let cn = Cloud::builtin(CloudId::China).unwrap();
        assert_eq!(
            cn.device_code_url("x"),
            "https://login.chinacloudapi.cn/x/oauth2/v2.0/devicecode"
        );
    }

    #[test]
    fn admin_consent_never_uses_common() {
        let c = Cloud::builtin(CloudId::Global).unwrap();
        let url = c.admin_consent_url(
            "common",
            "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            "http://localhost",
        );
        assert!(
            url.starts_with("https://login.microsoftonline.com/organizations/v2.0/adminconsent?")
        );
        assert!(url.contains("client_id=0d3b2f3a-1c2b-4c5d-9e8f-123456789abc"));
        assert!(url.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"));
    }

    #[test]
    fn custom_cloud_urls_are_checked() {
        let c = Cloud::custom("http://127.0.0.1:8080/", "http://localhost:9000").unwrap();
        assert_eq!(
            c.authorize_url("common"),
            "http://127.0.0.1:8080/common/oauth2/v2.0/authorize"
        );
        assert_eq!(c.graph, "http://localhost:9000");

        let cases = [
            ("", "Enter the URL"),
            ("login.example.com", "not an absolute URL"),
            (
                "http://login.example.com",
                "only for 127.0.0.1 or localhost",
            ),
            ("ftp://login.example.com", "must start with https://"),
            ("https://login.example.com/?x=1", "must not have a query"),
            ("https://user:pw@login.example.com", "user name or password"),
            (
                "https://login.exa\tmple.com/",
                "spaces, tabs or line breaks",
            ),
        ];
        for (raw, msg) in cases {
            let err = Cloud::custom(raw, "https://graph.example.com").unwrap_err();
            assert_eq!(err.field(), Some("authority_url"));
            assert!(err.message().contains(msg), "{raw}: {}", err.message());
        }
        let err = Cloud::custom("https://login.example.com", "graph").unwrap_err();
        assert_eq!(err.field(), Some("graph_url"));
    }
}
