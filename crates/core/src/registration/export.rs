//! What to create in the portal, as text an admin can paste: an application manifest fragment
//! and an Azure CLI script (`az ad app create` + `az ad app permission add`) for Cloud Shell.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::{Audience, ClientKind, DEEP_LINK_REDIRECT_URI, TenantHint, Usage, tenant_suggestions};
use crate::cloud::CloudId;
use crate::scopes::{Permission, PermissionKind, Preset};

/// The choices that shape a registration, before it exists in Entra.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub name: &'a str,
    pub kind: ClientKind,
    pub usage: Usage,
    pub audience: Audience,
    pub preset: Preset,
    pub redirect_uri: &'a str,
    pub cloud: CloudId,
}

impl Plan<'_> {
    /// Every permission to add: the delegated preset's and, for application access, its roles.
    pub fn permissions(&self) -> Vec<Permission> {
        let mut out = Vec::new();
        if self.usage.delegated() && !self.preset.is_application() {
            out.extend(self.preset.permissions());
        }
        if self.usage.application() {
            out.extend(Preset::Application.permissions());
        }
        out
    }

    fn grouped(&self) -> BTreeMap<String, Vec<Permission>> {
        let mut by_api: BTreeMap<String, Vec<Permission>> = BTreeMap::new();
        for p in self.permissions() {
            by_api.entry(p.api_id.clone()).or_default().push(p);
        }
        by_api
    }

    /// A fragment of the application manifest (Microsoft Graph format).
    pub fn manifest(&self) -> String {
        serde_json::to_string_pretty(&self.application_body()).expect("manifest serializes")
    }

    /// The body of Graph's `POST /applications` for this plan: the manifest fragment itself, so
    /// that what the app creates and what the wizard exports cannot differ.
    pub fn application_body(&self) -> serde_json::Value {
        let required: Vec<_> = self
            .grouped()
            .into_iter()
            .map(|(api, perms)| {
                json!({
                    "resourceAppId": api,
                    "resourceAccess": perms.iter().map(|p| json!({
                        "id": p.id,
                        "type": if p.kind == PermissionKind::Application { "Role" } else { "Scope" },
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut m = json!({
            "displayName": self.name,
            "signInAudience": self.audience.sign_in_audience(),
            "requiredResourceAccess": required,
        });
        match self.kind {
            ClientKind::Public => {
                m["publicClient"] = json!({ "redirectUris": [self.redirect_uri] });
                // "Allow public client flows": device code sign-in needs it.
                m["isFallbackPublicClient"] = json!(true);
            }
            ClientKind::Confidential => m["web"] = json!({ "redirectUris": [self.redirect_uri] }),
        }
        m
    }

    /// What an administrator's consent grants, per resource (its application ID): the delegated
    /// scope names (an `oauth2PermissionGrant`'s `scope`) and the app roles (one
    /// `appRoleAssignment` each).
    pub fn consent(&self) -> Vec<ResourceConsent> {
        self.grouped()
            .into_iter()
            .map(|(api, perms)| ResourceConsent {
                resource_app_id: api,
                scopes: perms
                    .iter()
                    .filter(|p| p.kind == PermissionKind::Delegated)
                    .map(|p| p.name.clone())
                    .collect(),
                roles: perms
                    .iter()
                    .filter(|p| p.kind == PermissionKind::Application)
                    .cloned()
                    .collect(),
            })
            .collect()
    }

    /// A bash script for Azure Cloud Shell that creates the app as planned.
    pub fn az_script(&self) -> String {
        let mut s = String::from(
            "#!/usr/bin/env bash\n# Creates the Mail Connections app registration. Paste into Azure Cloud Shell (Bash).\nset -euo pipefail\n",
        );
        match self.cloud {
            CloudId::GccHigh | CloudId::Dod => {
                s.push_str("az cloud set --name AzureUSGovernment\n");
            }
            CloudId::China => s.push_str("az cloud set --name AzureChinaCloud\n"),
            CloudId::Global | CloudId::Custom => {}
        }
        let redirect = match self.kind {
            ClientKind::Public => format!(
                "--public-client-redirect-uris {} --is-fallback-public-client true",
                shell_quote(self.redirect_uri)
            ),
            ClientKind::Confidential => {
                format!("--web-redirect-uris {}", shell_quote(self.redirect_uri))
            }
        };
        let _ = writeln!(
            s,
            "app_id=$(az ad app create --display-name {} --sign-in-audience {} {redirect} --query appId -o tsv)",
            shell_quote(self.name),
            self.audience.sign_in_audience()
        );
        s.push_str("az ad sp create --id \"$app_id\" >/dev/null\n");
        for (api, perms) in self.grouped() {
            let list: Vec<String> = perms
                .iter()
                .map(|p| {
                    format!(
                        "{}={}",
                        p.id,
                        if p.kind == PermissionKind::Application {
                            "Role"
                        } else {
                            "Scope"
                        }
                    )
                })
                .collect();
            let names: Vec<&str> = perms.iter().map(|p| p.name.as_str()).collect();
            let _ = writeln!(s, "# {}", names.join(", "));
            let _ = writeln!(
                s,
                "az ad app permission add --id \"$app_id\" --api {api} --api-permissions {}",
                list.join(" ")
            );
        }
        if self.permissions().iter().any(|p| p.admin_consent) {
            s.push_str("# These permissions need an administrator's consent (run as an admin, or use the admin consent link):\naz ad app permission admin-consent --id \"$app_id\"\n");
        }
        if self.kind == ClientKind::Confidential {
            s.push_str("# The client secret's Value is printed once: paste it into Mail Connections.\naz ad app credential reset --id \"$app_id\" --display-name mailconn --years 1 --append --query '{secret_value: password, expires: endDateTime}' -o json\n");
        }
        s.push_str("echo \"Application (client) ID: $app_id\"\necho \"Directory (tenant) ID:   $(az account show --query tenantId -o tsv)\"\n");
        s
    }
}

/// One resource's part of admin consent (see [`Plan::consent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConsent {
    pub resource_app_id: String,
    /// Delegated permission names, in the plan's order.
    pub scopes: Vec<String>,
    /// Application permissions (app roles), with their IDs.
    pub roles: Vec<Permission>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(kind: ClientKind, usage: Usage) -> Plan<'static> {
        Plan {
            name: "Contoso's mail",
            kind,
            usage,
            audience: Audience::MyOrganization,
            preset: Preset::Read,
            redirect_uri: "http://localhost",
            cloud: CloudId::Global,
        }
    }

    #[test]
    fn public_manifest_uses_the_public_client_platform() {
        let m: serde_json::Value =
            serde_json::from_str(&plan(ClientKind::Public, Usage::Delegated).manifest()).unwrap();
        assert_eq!(m["signInAudience"], "AzureADMyOrg");
        assert_eq!(m["publicClient"]["redirectUris"][0], "http://localhost");
        assert_eq!(m["isFallbackPublicClient"], true);
        assert!(m.get("web").is_none());
        let access = &m["requiredResourceAccess"][0];
        assert_eq!(access["resourceAppId"], crate::scopes::GRAPH_APP_ID);
        let ids: Vec<_> = access["resourceAccess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"570282fd-fa5c-430d-a7fd-fc8dc98a9dca"),
            "Mail.Read: {ids:?}"
        );
        assert!(
            ids.contains(&"7427e0e9-2fba-42fe-b0c0-848c9e6a8182"),
            "offline_access: {ids:?}"
        );
    }

    #[test]
    fn both_usages_get_scopes_and_roles() {
        let p = plan(ClientKind::Confidential, Usage::Both);
        let m: serde_json::Value = serde_json::from_str(&p.manifest()).unwrap();
        assert_eq!(m["web"]["redirectUris"][0], "http://localhost");
        let types: Vec<_> = m["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        assert!(types.contains(&"Scope") && types.contains(&"Role"));
        let script = p.az_script();
        assert!(
            script.contains("--display-name 'Contoso'\\''s mail'"),
            "{script}"
        );
        assert!(script.contains("--web-redirect-uris 'http://localhost'"));
        assert!(
            script.contains("810c84a8-4a9e-49e6-bf7d-12d183f40d01=Scope")
                || script.contains("e2a3a72e-5f79-4c64-b1b1-878b674786c9=Role")
        );
        assert!(script.contains("admin-consent"));
        assert!(script.contains("az ad app credential reset"));
    }

    fn input(kind: ClientKind, usage: Usage, audience: Audience) -> PlanInput {
        PlanInput {
            name: "Mail".into(),
            kind,
            usage,
            audience,
            preset: Preset::Read,
            cloud: CloudId::Global,
            authority_url: None,
            graph_url: None,
            redirect_uri: None,
        }
    }

    #[test]
    fn application_access_makes_the_plan_confidential() {
        let desktop = plan_info(&input(
            ClientKind::Public,
            Usage::Delegated,
            Audience::MyOrganization,
        ))
        .unwrap();
        assert_eq!(desktop.kind, ClientKind::Public);
        assert!(!desktop.kind_fixed);
        assert!(!desktop.secret_needed);
        assert_eq!(desktop.platform, "Mobile and desktop applications");

        for usage in [Usage::Both, Usage::Application] {
            let p = plan_info(&input(ClientKind::Public, usage, Audience::MyOrganization)).unwrap();
            assert_eq!(p.kind, ClientKind::Confidential, "{usage:?}");
            assert!(p.kind_fixed && p.secret_needed);
            assert_eq!(p.platform, "Web");
            assert_eq!(p.redirect_uri, "http://localhost/callback");
        }
        let web = plan_info(&input(
            ClientKind::Confidential,
            Usage::Delegated,
            Audience::MyOrganization,
        ))
        .unwrap();
        assert_eq!(web.kind, ClientKind::Confidential);
        assert!(!web.kind_fixed);
    }

    #[test]
    fn the_deep_link_is_offered_and_kept_for_desktop_apps_only() {
        let mut i = input(
            ClientKind::Public,
            Usage::Delegated,
            Audience::MyOrganization,
        );
        let p = plan_info(&i).unwrap();
        assert_eq!(p.deep_link_redirect_uri, "mailconn://auth");
        assert_eq!(
            p.deep_link_redirect_uri,
            crate::flow::deep_link::REDIRECT_URI
        );
        assert_eq!(p.redirect_uri, "http://localhost");

        i.redirect_uri = Some(p.deep_link_redirect_uri.clone());
        assert_eq!(plan_info(&i).unwrap().redirect_uri, "mailconn://auth");
        // Application access needs a Web app, which the deep link cannot reach.
        i.usage = Usage::Both;
        assert_eq!(
            plan_info(&i).unwrap().redirect_uri,
            "http://localhost/callback"
        );
    }

    #[test]
    fn tenant_suggestions_follow_audience_and_usage() {
        let case = |usage, audience| {
            let p = plan_info(&input(ClientKind::Public, usage, audience)).unwrap();
            (p.tenant_hint, p.tenant_suggestions)
        };
        assert_eq!(
            case(Usage::Delegated, Audience::MyOrganization),
            (TenantHint::DirectoryId, vec![])
        );
        assert_eq!(
            case(Usage::Delegated, Audience::AnyOrganization),
            (
                TenantHint::AnyOrganization,
                vec!["organizations".to_owned(), "common".to_owned()]
            )
        );
        assert_eq!(
            case(Usage::Delegated, Audience::AnyOrganizationAndPersonal),
            (TenantHint::AnyAccount, vec!["common".to_owned()])
        );
        for usage in [Usage::Both, Usage::Application] {
            assert_eq!(
                case(usage, Audience::AnyOrganization),
                (TenantHint::OneOrganization, vec![])
            );
            assert_eq!(
                case(usage, Audience::MyOrganization),
                (TenantHint::DirectoryId, vec![])
            );
        }
    }

    #[test]
    fn every_suggested_tenant_passes_validation() {
        use crate::registration::{RegistrationInput, validate};
        for audience in [
            Audience::MyOrganization,
            Audience::AnyOrganization,
            Audience::AnyOrganizationAndPersonal,
        ] {
            for usage in [Usage::Delegated, Usage::Both, Usage::Application] {
                let p = plan_info(&input(ClientKind::Public, usage, audience)).unwrap();
                for tenant in &p.tenant_suggestions {
                    let reg = RegistrationInput {
                        name: "Mail".into(),
                        client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
                        kind: p.kind,
                        tenant: tenant.clone(),
                        cloud: CloudId::Global,
                        authority_url: None,
                        graph_url: None,
                        imap_server: None,
                        pop_server: None,
                        smtp_server: None,
                        usage,
                        audience,
                        preset: Preset::Read,
                        redirect_uri: None,
                        secret: None,
                        secret_expires: None,
                        secret_label: None,
                    };
                    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
                    let (report, _) = validate(&reg, today);
                    assert!(
                        !report.errors.iter().any(|e| e.field == "tenant"),
                        "{tenant} for {audience:?}/{usage:?}: {:?}",
                        report.errors
                    );
                }
            }
        }
    }

    #[test]
    fn national_clouds_switch_the_cli() {
        let mut p = plan(ClientKind::Public, Usage::Delegated);
        p.cloud = CloudId::GccHigh;
        assert!(
            p.az_script()
                .contains("az cloud set --name AzureUSGovernment")
        );
        assert!(!p.az_script().contains("credential reset"));
    }
}

/// The wizard's choices before the app exists (steps 1 to 4).
#[derive(Debug, Clone, serde::Deserialize, ts_rs::TS)]
pub struct PlanInput {
    pub name: String,
    /// The kind the user asked for (desktop or Web app); the usage may decide otherwise (the
    /// plan's `kind` is the one the registration gets).
    pub kind: ClientKind,
    pub usage: Usage,
    pub audience: Audience,
    pub preset: Preset,
    pub cloud: CloudId,
    #[ts(optional)]
    #[serde(default)]
    pub authority_url: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub graph_url: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// Everything the wizard shows for a plan: what to click and paste in the portal.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct PlanInfo {
    /// The client kind the registration gets: the one asked for, unless the usage needs a secret.
    pub kind: ClientKind,
    /// The usage decides the kind; the user has no choice.
    pub kind_fixed: bool,
    pub redirect_uri: String,
    /// The app's own custom-scheme redirect URI, which desktop apps may choose instead.
    pub deep_link_redirect_uri: String,
    /// Which help the tenant field shows.
    #[ts(inline)]
    pub tenant_hint: TenantHint,
    /// Tenant values offered with one click for this audience and usage, best first.
    pub tenant_suggestions: Vec<String>,
    /// The portal's platform name: "Mobile and desktop applications" or "Web".
    pub platform: String,
    pub account_types: String,
    pub permissions: Vec<Permission>,
    pub admin_consent: bool,
    pub secret_needed: bool,
    pub portal: String,
    pub portal_new_registration_url: String,
    pub manifest: String,
    pub az_script: String,
}

/// Resolves the wizard's choices into portal instructions.
pub fn plan_info(input: &PlanInput) -> crate::Result<PlanInfo> {
    let cloud = match input.cloud {
        CloudId::Custom => crate::cloud::Cloud::builtin(CloudId::Global).expect("global cloud"),
        id => crate::cloud::Cloud::resolve(id, None, None)?,
    };
    let kind = ClientKind::for_usage(input.usage, input.kind);
    let redirect_uri = input
        .redirect_uri
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        // The deep link reaches only a desktop app; a Web app gets its own default.
        .filter(|s| {
            kind == ClientKind::Public
                || !s
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(DEEP_LINK_REDIRECT_URI)
        })
        .unwrap_or_else(|| super::default_redirect_uri(kind))
        .to_owned();
    let (tenant_hint, suggestions) = tenant_suggestions(input.usage, input.audience);
    let plan = Plan {
        name: if input.name.trim().is_empty() {
            "Mail Connections"
        } else {
            input.name.trim()
        },
        kind,
        usage: input.usage,
        audience: input.audience,
        preset: input.preset,
        redirect_uri: &redirect_uri,
        cloud: input.cloud,
    };
    let permissions = plan.permissions();
    Ok(PlanInfo {
        kind,
        kind_fixed: ClientKind::fixed_by(input.usage),
        deep_link_redirect_uri: DEEP_LINK_REDIRECT_URI.to_owned(),
        tenant_hint,
        tenant_suggestions: suggestions.into_iter().map(str::to_owned).collect(),
        platform: match kind {
            ClientKind::Public => "Mobile and desktop applications",
            ClientKind::Confidential => "Web",
        }
        .into(),
        account_types: input.audience.portal_label().into(),
        admin_consent: permissions.iter().any(|p| p.admin_consent),
        secret_needed: kind == ClientKind::Confidential,
        portal: cloud.portal.clone(),
        portal_new_registration_url: cloud.portal_new_registration_url(),
        manifest: plan.manifest(),
        az_script: plan.az_script(),
        permissions,
        redirect_uri,
    })
}
