//! Scope presets: what a connection may do, as delegated scopes (someone signs in) and as
//! application permissions (the app acts as itself), with Microsoft Graph's permission IDs so a
//! manifest or `az` script can be produced for the user's choice.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Microsoft Graph's application (resource) ID in every tenant.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The resource for IMAP, POP and SMTP with OAuth.
pub const OUTLOOK_RESOURCE: &str = "https://outlook.office.com";

/// Identity scopes every delegated sign-in asks for: who signed in, and a refresh token.
pub const IDENTITY_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Read mail.
    Read,
    /// Send mail.
    Send,
    /// Read, write and send mail.
    Full,
    /// Full mail plus calendars.
    FullCalendar,
    /// Mail programs (Thunderbird, mutt, msmtp) over IMAP, POP and SMTP.
    MailPrograms,
    /// Application access to organisation and shared mailboxes, no sign-in.
    Application,
}

/// One Graph (or Exchange) permission to add to the app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Permission {
    /// The name shown in the portal, e.g. `Mail.Read`.
    pub name: String,
    /// `delegated` (portal: "Delegated permissions") or `application`.
    pub kind: PermissionKind,
    /// The resource's display name in the portal ("Microsoft Graph" for every preset's).
    pub api: String,
    /// The resource application ID.
    pub api_id: String,
    /// The permission's GUID (manifest `resourceAccess.id`).
    pub id: String,
    /// Whether an administrator must consent.
    pub admin_consent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PermissionKind {
    Delegated,
    Application,
}

/// Facts about a preset for the wizard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PresetInfo {
    pub preset: Preset,
    pub label: String,
    pub description: String,
    /// The scopes a sign-in requests (empty for application access).
    pub delegated_scopes: Vec<String>,
    pub permissions: Vec<Permission>,
    /// Whether an administrator must grant consent before anyone can use it.
    pub admin_consent: bool,
}

struct Perm {
    name: &'static str,
    delegated_id: Option<&'static str>,
    application_id: Option<&'static str>,
    delegated_admin: bool,
}

const fn graph(
    name: &'static str,
    delegated: Option<&'static str>,
    app: Option<&'static str>,
) -> Perm {
    Perm {
        name,
        delegated_id: delegated,
        application_id: app,
        delegated_admin: false,
    }
}

const PERMS: &[Perm] = &[
    graph("openid", Some("37f7f235-527c-4136-accd-4a02d197296e"), None),
    graph(
        "profile",
        Some("14dad69e-099b-42c9-810b-d002981feec1"),
        None,
    ),
    graph("email", Some("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"), None),
    graph(
        "offline_access",
        Some("7427e0e9-2fba-42fe-b0c0-848c9e6a8182"),
        None,
    ),
    graph(
        "User.Read",
        Some("e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
        None,
    ),
    Perm {
        name: "User.Read.All",
        delegated_id: Some("a154be20-db9c-4678-8ab7-66f6cc099a59"),
        application_id: Some("df021288-bdef-4463-88db-98f22de89214"),
        delegated_admin: true,
    },
    graph(
        "Mail.Read",
        Some("570282fd-fa5c-430d-a7fd-fc8dc98a9dca"),
        Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ),
    graph(
        "Mail.ReadWrite",
        Some("024d486e-b451-40bb-833d-3e66d98c5c73"),
        Some("e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    ),
    graph(
        "Mail.Send",
        Some("e383f46e-2787-4529-855e-0e479a3ffac0"),
        Some("b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    ),
    graph(
        "Calendars.ReadWrite",
        Some("1ec239c2-d7c9-4623-a91a-a9775856bb36"),
        Some("ef54d2bf-783f-4e0f-bca1-3210c0444d99"),
    ),
    graph(
        "IMAP.AccessAsUser.All",
        Some("652390e4-393a-48de-9484-05f9b1212954"),
        None,
    ),
    graph(
        "POP.AccessAsUser.All",
        Some("d7b7f2d9-0f45-4ea1-9d42-e50810c06991"),
        None,
    ),
    graph(
        "SMTP.Send",
        Some("258f6531-6087-4cc4-bb90-092c5fb3ed3f"),
        None,
    ),
];

fn perm(name: &str) -> &'static Perm {
    PERMS
        .iter()
        .find(|p| p.name == name)
        .expect("known permission")
}

impl Perm {
    fn as_permission(&self, kind: PermissionKind) -> Permission {
        // Every permission the presets use is Microsoft Graph's, the delegated IMAP, POP and
        // SMTP ones too: the portal lists them under Microsoft Graph and these IDs are that
        // service principal's, although their tokens are for Outlook (docs/MICROSOFT.md).
        let (api, api_id) = ("Microsoft Graph", GRAPH_APP_ID);
        let (id, admin_consent) = match kind {
            PermissionKind::Delegated => (self.delegated_id, self.delegated_admin),
            PermissionKind::Application => (self.application_id, true),
        };
        Permission {
            name: self.name.into(),
            kind,
            api: api.into(),
            api_id: api_id.into(),
            id: id.expect("permission exists in this kind").into(),
            admin_consent,
        }
    }
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Read,
        Preset::Send,
        Preset::Full,
        Preset::FullCalendar,
        Preset::MailPrograms,
        Preset::Application,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Read => "read",
            Preset::Send => "send",
            Preset::Full => "full",
            Preset::FullCalendar => "full-calendar",
            Preset::MailPrograms => "mail-programs",
            Preset::Application => "application",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The Graph or Exchange permission names beyond the identity scopes.
    fn resource_permissions(self) -> &'static [&'static str] {
        match self {
            Preset::Read => &["User.Read", "Mail.Read"],
            Preset::Send => &["User.Read", "Mail.Send"],
            Preset::Full => &["User.Read", "Mail.ReadWrite", "Mail.Send"],
            Preset::FullCalendar => &[
                "User.Read",
                "Mail.ReadWrite",
                "Mail.Send",
                "Calendars.ReadWrite",
            ],
            Preset::MailPrograms => &["IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send"],
            Preset::Application => &["Mail.ReadWrite", "Mail.Send", "User.Read.All"],
        }
    }

    pub fn is_application(self) -> bool {
        self == Preset::Application
    }

    /// The `scope` parameter of a delegated sign-in. IMAP/SMTP scopes belong to the Outlook
    /// resource, which allows only `offline_access` beside them (one resource per request).
    pub fn delegated_scopes(self) -> Vec<String> {
        match self {
            Preset::Application => Vec::new(),
            Preset::MailPrograms => {
                let mut s: Vec<String> = IDENTITY_SCOPES.iter().map(|s| (*s).to_owned()).collect();
                s.extend(
                    self.resource_permissions()
                        .iter()
                        .map(|p| format!("{OUTLOOK_RESOURCE}/{p}")),
                );
                s
            }
            _ => IDENTITY_SCOPES
                .iter()
                .chain(self.resource_permissions())
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// The permissions to add in the portal (API permissions page) for this preset.
    pub fn permissions(self) -> Vec<Permission> {
        if self.is_application() {
            return self
                .resource_permissions()
                .iter()
                .map(|n| perm(n).as_permission(PermissionKind::Application))
                .collect();
        }
        IDENTITY_SCOPES
            .iter()
            .chain(self.resource_permissions())
            .map(|n| perm(n).as_permission(PermissionKind::Delegated))
            .collect()
    }

    pub fn info(self) -> PresetInfo {
        let (label, description) = match self {
            Preset::Read => ("Read mail", "Read messages in the signed-in mailbox."),
            Preset::Send => ("Send mail", "Send messages as the signed-in user."),
            Preset::Full => ("Read, write and send", "Read, organise and send mail."),
            Preset::FullCalendar => (
                "Mail and calendar",
                "Read, organise and send mail, and manage calendars.",
            ),
            Preset::MailPrograms => (
                "Mail programs (IMAP and SMTP)",
                "Let Thunderbird, mutt, msmtp, isync or aerc sign in with OAuth.",
            ),
            Preset::Application => (
                "Application access",
                "Work on organisation and shared mailboxes without anyone signing in (admin consent).",
            ),
        };
        let permissions = self.permissions();
        PresetInfo {
            preset: self,
            label: label.into(),
            description: description.into(),
            delegated_scopes: self.delegated_scopes(),
            admin_consent: permissions.iter().any(|p| p.admin_consent),
            permissions,
        }
    }
}

/// Whether Microsoft ever lists this requested scope in a token response's `scope`.
///
/// `offline_access` never appears there (it is not part of an access token: a `refresh_token` in
/// the answer is the only sign it was granted); `<resource>/.default` is answered with the
/// permissions it stands for, never by itself. `openid`, `profile` and `email` are listed when
/// granted, but they are about the `id_token`, not the resource: their absence is no missing access.
pub fn echoed_by_microsoft(scope: &str) -> bool {
    let lower = scope.to_ascii_lowercase();
    !(matches!(
        lower.as_str(),
        "offline_access" | "openid" | "profile" | "email"
    ) || lower.ends_with("/.default")
        || lower == ".default")
}

/// Requested scopes that the token response's `scope` (`granted`) does not list, leaving out
/// those Microsoft never lists (see [`echoed_by_microsoft`]). Microsoft answers Graph scopes in
/// their short form (`Mail.Read`) and other resources' fully qualified, so both forms are compared,
/// without regard to case.
pub fn missing(requested: &[String], granted: &[String]) -> Vec<String> {
    let short = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    let have: std::collections::HashSet<String> = granted.iter().map(|s| short(s)).collect();
    requested
        .iter()
        .filter(|r| echoed_by_microsoft(r))
        .filter(|r| !have.contains(&short(r)))
        .cloned()
        .collect()
}

/// [`missing`], plus `offline_access` when it was requested and no refresh token came: offline
/// access is judged by the refresh token, never by the scope echo.
pub fn missing_for_tokens(
    requested: &[String],
    granted: &[String],
    has_refresh_token: bool,
) -> Vec<String> {
    let mut out = missing(requested, granted);
    if !has_refresh_token {
        out.extend(
            requested
                .iter()
                .filter(|r| r.eq_ignore_ascii_case("offline_access"))
                .cloned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn offline_access_is_never_missing_from_the_scope_echo() {
        // What Microsoft answers for a Graph sign-in: no offline_access, Graph scopes bare.
        let requested = Preset::Full.delegated_scopes();
        let granted = strings(&[
            "openid",
            "profile",
            "email",
            "User.Read",
            "Mail.ReadWrite",
            "Mail.Send",
        ]);
        assert_eq!(missing(&requested, &granted), Vec::<String>::new());
        assert_eq!(
            missing_for_tokens(&requested, &granted, true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn no_refresh_token_means_offline_access_missing() {
        let requested = strings(&["openid", "offline_access", "User.Read"]);
        let granted = strings(&["openid", "User.Read"]);
        assert_eq!(
            missing_for_tokens(&requested, &granted, false),
            ["offline_access"]
        );
        let without = strings(&["openid", "User.Read"]);
        assert!(missing_for_tokens(&without, &granted, false).is_empty());
    }

    #[test]
    fn missing_compares_short_forms_without_case_and_reports_what_was_asked() {
        let requested = strings(&[
            "openid",
            "offline_access",
            "User.Read",
            "mail.read",
            "https://outlook.office.com/SMTP.Send",
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "Mail.Send",
        ]);
        let granted = strings(&[
            "https://graph.microsoft.com/User.Read",
            "Mail.Read",
            "https://outlook.office.com/SMTP.Send",
        ]);
        assert_eq!(
            missing(&requested, &granted),
            [
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "Mail.Send"
            ]
        );
    }

    #[test]
    fn scopes_microsoft_never_echoes() {
        for s in [
            "offline_access",
            "OFFLINE_ACCESS",
            "openid",
            "profile",
            "email",
            "https://graph.microsoft.com/.default",
            "https://outlook.office365.com/.default",
        ] {
            assert!(!echoed_by_microsoft(s), "{s}");
            assert!(missing(&strings(&[s]), &[]).is_empty(), "{s}");
        }
        for s in [
            "User.Read",
            "https://outlook.office.com/IMAP.AccessAsUser.All",
        ] {
            assert!(echoed_by_microsoft(s), "{s}");
        }
    }

    #[test]
    fn nothing_granted_everything_echoed_is_missing() {
        let requested = Preset::MailPrograms.delegated_scopes();
        let expected: Vec<String> = requested
            .iter()
            .filter(|s| echoed_by_microsoft(s))
            .cloned()
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(missing(&requested, &[]), expected);
    }

    #[test]
    fn delegated_presets_carry_identity_scopes() {
        let s = Preset::Read.delegated_scopes();
        assert_eq!(
            s,
            [
                "openid",
                "profile",
                "email",
                "offline_access",
                "User.Read",
                "Mail.Read"
            ]
        );
        let full = Preset::FullCalendar.delegated_scopes();
        assert!(full.contains(&"Calendars.ReadWrite".to_owned()));
        assert!(full.contains(&"offline_access".to_owned()));
    }

    #[test]
    fn mail_programs_use_the_outlook_resource_only() {
        let s = Preset::MailPrograms.delegated_scopes();
        assert!(s.contains(&"https://outlook.office.com/IMAP.AccessAsUser.All".to_owned()));
        assert!(s.contains(&"https://outlook.office.com/SMTP.Send".to_owned()));
        assert!(
            !s.iter().any(|x| x.contains("User.Read")),
            "one resource per request: {s:?}"
        );
        let perms = Preset::MailPrograms.permissions();
        let imap = perms
            .iter()
            .find(|p| p.name == "IMAP.AccessAsUser.All")
            .unwrap();
        assert_eq!(imap.id, "652390e4-393a-48de-9484-05f9b1212954");
        assert_eq!(imap.api_id, GRAPH_APP_ID);
        assert_eq!(imap.api, "Microsoft Graph");
    }

    #[test]
    fn application_preset_needs_admin_consent_with_role_ids() {
        let info = Preset::Application.info();
        assert!(info.admin_consent);
        assert!(info.delegated_scopes.is_empty());
        let send = info
            .permissions
            .iter()
            .find(|p| p.name == "Mail.Send")
            .unwrap();
        assert_eq!(send.kind, PermissionKind::Application);
        assert_eq!(send.id, "b633e1c5-b582-4048-a93e-9f11b44c7e96");
        assert!(!Preset::Read.info().admin_consent);
    }

    #[test]
    fn presets_round_trip_their_names() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn missing_scopes_compare_short_forms() {
        let requested: Vec<String> = [
            "openid",
            "offline_access",
            "User.Read",
            "Mail.Read",
            "https://outlook.office.com/SMTP.Send",
        ]
        .map(String::from)
        .to_vec();
        let granted: Vec<String> = [
            "https://graph.microsoft.com/User.Read",
            "Mail.Read",
            "SMTP.Send",
        ]
        .map(String::from)
        .to_vec();
        // offline_access is never echoed by Microsoft: the refresh token tells.
        assert_eq!(missing(&requested, &granted), Vec::<String>::new());
    }
}
