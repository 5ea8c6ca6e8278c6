//! What an access token is for. One refresh token serves Microsoft Graph and Outlook (IMAP, POP,
//! SMTP) within what was consented, but each token request names the scopes of ONE resource and
//! yields a token for that audience only. A [`Resource`] is what a caller wants to reach; its
//! [`Audience`] is the token that reaches it (IMAP, POP and SMTP share the Outlook token).
//! Pure functions over scope lists, tested without a network.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode};
use crate::scopes::OUTLOOK_RESOURCE;

/// What a caller wants to reach with an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Microsoft Graph (`https://graph.microsoft.com`).
    Graph,
    /// IMAP with SASL XOAUTH2 (`IMAP.AccessAsUser.All`, Outlook audience).
    Imap,
    /// POP with SASL XOAUTH2 (`POP.AccessAsUser.All`, Outlook audience).
    Pop,
    /// SMTP submission with SASL XOAUTH2 (`SMTP.Send`, Outlook audience).
    Smtp,
}

/// The audience of an access token: the resource server it is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Graph,
    /// `https://outlook.office.com`: IMAP, POP and SMTP.
    Outlook,
}

/// Scopes that belong to no resource: the `OpenID` Connect ones and `offline_access`.
fn is_identity(scope: &str) -> bool {
    matches!(
        scope.to_ascii_lowercase().as_str(),
        "openid" | "profile" | "email" | "offline_access"
    )
}

/// The permission's name without its resource (`SMTP.Send` of `https://outlook.office.com/SMTP.Send`).
fn short(scope: &str) -> &str {
    scope.rsplit('/').next().unwrap_or(scope)
}

impl Resource {
    pub const ALL: [Self; 4] = [Self::Graph, Self::Imap, Self::Pop, Self::Smtp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graph => "graph",
            Self::Imap => "imap",
            Self::Pop => "pop",
            Self::Smtp => "smtp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::Graph => "Microsoft Graph",
            Self::Imap => "IMAP",
            Self::Pop => "POP",
            Self::Smtp => "SMTP",
        }
    }

    pub fn audience(self) -> Audience {
        match self {
            Self::Graph => Audience::Graph,
            Self::Imap | Self::Pop | Self::Smtp => Audience::Outlook,
        }
    }

    /// The delegated permission this resource needs (Graph: any Graph permission will do).
    pub fn permission(self) -> Option<&'static str> {
        match self {
            Self::Graph => None,
            Self::Imap => Some("IMAP.AccessAsUser.All"),
            Self::Pop => Some("POP.AccessAsUser.All"),
            Self::Smtp => Some("SMTP.Send"),
        }
    }

    /// The fully qualified scope a sign-in asks for (Outlook resources only).
    pub fn scope(self) -> Option<String> {
        self.permission().map(|p| format!("{OUTLOOK_RESOURCE}/{p}"))
    }

    /// Whether `scopes` (what a connection asked for or was granted) reach this resource.
    pub fn allowed_by(self, scopes: &[String]) -> bool {
        match self.permission() {
            None => scopes
                .iter()
                .any(|s| Audience::of(s) == Some(Audience::Graph)),
            Some(p) => scopes.iter().any(|s| {
                Audience::of(s) == Some(Audience::Outlook) && short(s).eq_ignore_ascii_case(p)
            }),
        }
    }

    /// The error for a connection whose consent does not reach this resource: names the scope
    /// that is missing and the command that adds it.
    pub fn not_consented(self, address: &str) -> Error {
        let (missing, preset) = match self.scope() {
            Some(scope) => (scope, "mail-programs"),
            None => (
                "a Microsoft Graph permission (e.g. User.Read)".to_owned(),
                "read",
            ),
        };
        Error::new(
            ErrorCode::NeedsConsent,
            format!(
                "The connection {address} was not given access to {}: it lacks {missing}.",
                self.label()
            ),
        )
        .with_fix(format!(
            "Sign in again with that permission: `mailconn reconnect {address} --preset {preset}`."
        ))
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graph => "graph",
            Self::Outlook => "outlook",
        }
    }

    /// The audience a scope belongs to; `None` for `openid`, `profile`, `email`,
    /// `offline_access`. Graph scopes are bare (`Mail.Read`) or under a Graph host; Outlook
    /// scopes are fully qualified under an `outlook.` host (`outlook.office.com`,
    /// `outlook.office365.com`, national clouds' `outlook.office365.us`...).
    pub fn of(scope: &str) -> Option<Self> {
        if is_identity(scope) {
            return None;
        }
        let lower = scope.to_ascii_lowercase();
        let Some(rest) = lower.split_once("://").map(|(_, r)| r) else {
            return Some(Self::Graph);
        };
        let host = rest.split('/').next().unwrap_or("");
        if host.starts_with("outlook.") {
            Some(Self::Outlook)
        } else {
            Some(Self::Graph)
        }
    }

    /// The `scope` of a refresh request for this audience: the identity scopes and this
    /// audience's scopes of what the connection asked for at sign-in (`requested`), and any of
    /// this audience's scopes Microsoft granted besides. Never two resources in one request.
    pub fn request_scopes(self, requested: &[String], granted: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |s: &String| {
            if !out.iter().any(|o| short(o).eq_ignore_ascii_case(short(s))) {
                out.push(s.clone());
            }
        };
        for s in requested {
            if is_identity(s) || Self::of(s) == Some(self) {
                push(s);
            }
        }
        for s in granted {
            if Self::of(s) == Some(self) {
                push(s);
            }
        }
        out
    }

    /// The audience of the token the connection's sign-in asked for (the one the scheduler
    /// keeps alive): the audience of its first resource scope, Graph when it has none.
    pub fn primary(requested: &[String]) -> Self {
        requested
            .iter()
            .find_map(|s| Self::of(s))
            .unwrap_or(Self::Graph)
    }

    /// A connection's granted scopes after a refresh for this audience: the other audience's
    /// scopes stay, this audience's are replaced by `new` (what Microsoft just listed).
    pub fn merge_granted(self, previous: &[String], new: &[String]) -> Vec<String> {
        let mut out: Vec<String> = previous
            .iter()
            .filter(|s| Self::of(s).is_some_and(|a| a != self))
            .cloned()
            .collect();
        for s in new {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        for s in previous {
            if is_identity(s) && !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// The resource `mailconn xoauth2` and `oauthbearer` use when none is named: IMAP when the
/// connection may use it (what mail programs read with), else SMTP, else POP; IMAP when none
/// is (the refusal then names IMAP's scope).
pub fn default_mail_resource(scopes: &[String]) -> Resource {
    [Resource::Imap, Resource::Smtp, Resource::Pop]
        .into_iter()
        .find(|r| r.allowed_by(scopes))
        .unwrap_or(Resource::Imap)
}

/// The resource `mailconn token` uses when none is named: Microsoft Graph when the connection
/// may use it, else the mail default ([`default_mail_resource`]): a mail-programs connection
/// gets its Outlook token.
pub fn default_resource(scopes: &[String]) -> Resource {
    if Resource::Graph.allowed_by(scopes) {
        Resource::Graph
    } else {
        default_mail_resource(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scopes::Preset;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_belong_to_their_audience() {
        assert_eq!(Audience::of("Mail.Read"), Some(Audience::Graph));
        assert_eq!(
            Audience::of("https://graph.microsoft.com/User.Read"),
            Some(Audience::Graph)
        );
        assert_eq!(
            Audience::of("https://outlook.office.com/IMAP.AccessAsUser.All"),
            Some(Audience::Outlook)
        );
        assert_eq!(
            Audience::of("https://outlook.office365.us/SMTP.Send"),
            Some(Audience::Outlook)
        );
        for s in [
            "openid",
            "profile",
            "email",
            "offline_access",
            "OFFLINE_ACCESS",
        ] {
            assert_eq!(Audience::of(s), None, "{s}");
        }
        for r in Resource::ALL {
            assert_eq!(Resource::parse(r.as_str()), Some(r));
        }
        assert_eq!(Resource::parse("IMAP"), Some(Resource::Imap));
        assert_eq!(Resource::parse("ews"), None);
        assert_eq!(Resource::Pop.audience(), Audience::Outlook);
        assert_eq!(Resource::Graph.audience(), Audience::Graph);
    }

    #[test]
    fn a_request_names_one_resource_with_the_identity_scopes() {
        let requested = Preset::MailPrograms.delegated_scopes();
        let outlook = Audience::Outlook.request_scopes(&requested, &[]);
        assert_eq!(outlook, requested, "all of the mail-programs preset");
        let graph = Audience::Graph.request_scopes(&requested, &[]);
        assert_eq!(graph, ["openid", "profile", "email", "offline_access"]);

        let requested = Preset::Full.delegated_scopes();
        // Granted Outlook scopes (consented earlier) may be asked for, never mixed with Graph.
        let granted = strings(&["Mail.Send", "https://outlook.office.com/SMTP.Send"]);
        let outlook = Audience::Outlook.request_scopes(&requested, &granted);
        assert_eq!(
            outlook,
            [
                "openid",
                "profile",
                "email",
                "offline_access",
                "https://outlook.office.com/SMTP.Send"
            ]
        );
        let graph = Audience::Graph.request_scopes(&requested, &granted);
        assert_eq!(graph, requested, "Mail.Send is not repeated");
    }

    #[test]
    fn the_primary_audience_is_the_sign_ins() {
        assert_eq!(
            Audience::primary(&Preset::MailPrograms.delegated_scopes()),
            Audience::Outlook
        );
        assert_eq!(
            Audience::primary(&Preset::Read.delegated_scopes()),
            Audience::Graph
        );
        assert_eq!(
            Audience::primary(&strings(&["openid", "offline_access"])),
            Audience::Graph
        );
    }

    #[test]
    fn a_refresh_replaces_only_its_audiences_granted_scopes() {
        let previous = strings(&["openid", "profile", "User.Read", "Mail.Read"]);
        let new = strings(&["openid", "https://outlook.office.com/IMAP.AccessAsUser.All"]);
        let merged = Audience::Outlook.merge_granted(&previous, &new);
        assert_eq!(
            merged,
            [
                "User.Read",
                "Mail.Read",
                "openid",
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "profile"
            ]
        );
        // A Graph refresh that no longer lists Mail.Read drops it, and keeps Outlook's.
        let again = Audience::Graph.merge_granted(&merged, &strings(&["openid", "User.Read"]));
        assert_eq!(
            again,
            [
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "openid",
                "User.Read",
                "profile"
            ]
        );
    }

    #[test]
    fn a_resource_is_allowed_only_by_its_own_permission() {
        let mail = Preset::MailPrograms.delegated_scopes();
        assert!(Resource::Imap.allowed_by(&mail));
        assert!(Resource::Smtp.allowed_by(&mail));
        assert!(Resource::Pop.allowed_by(&mail));
        assert!(!Resource::Graph.allowed_by(&mail));
        let imap_only = strings(&["https://outlook.office.com/IMAP.AccessAsUser.All"]);
        assert!(!Resource::Pop.allowed_by(&imap_only));
        assert!(!Resource::Smtp.allowed_by(&imap_only));
        let read = Preset::Read.delegated_scopes();
        assert!(Resource::Graph.allowed_by(&read));
        assert!(!Resource::Imap.allowed_by(&read));
        // A bare "SMTP.Send" is a Graph name, not Outlook's permission.
        assert!(!Resource::Smtp.allowed_by(&strings(&["SMTP.Send"])));
        assert!(Resource::Smtp.allowed_by(&strings(&["https://outlook.office.com/smtp.send"])));
    }

    #[test]
    fn the_default_for_mail_programs_is_imap_when_granted() {
        assert_eq!(
            default_mail_resource(&Preset::MailPrograms.delegated_scopes()),
            Resource::Imap
        );
        let smtp_only = strings(&["offline_access", "https://outlook.office.com/SMTP.Send"]);
        assert_eq!(default_mail_resource(&smtp_only), Resource::Smtp);
        assert_eq!(
            default_mail_resource(&Preset::Read.delegated_scopes()),
            Resource::Imap
        );
        assert_eq!(
            default_resource(&Preset::Read.delegated_scopes()),
            Resource::Graph
        );
        assert_eq!(
            default_resource(&Preset::MailPrograms.delegated_scopes()),
            Resource::Imap
        );
    }

    #[test]
    fn the_refusal_names_the_missing_scope_and_the_fix() {
        let e = Resource::Pop.not_consented("alice@contoso.test");
        assert_eq!(e.code(), ErrorCode::NeedsConsent);
        assert_eq!(
            e.message(),
            "The connection alice@contoso.test was not given access to POP: it lacks https://outlook.office.com/POP.AccessAsUser.All."
        );
        assert_eq!(
            e.detail().and_then(|d| d.fix.as_deref()),
            Some(
                "Sign in again with that permission: `mailconn reconnect alice@contoso.test --preset mail-programs`."
            )
        );
        let e = Resource::Graph.not_consented("a@b.test");
        assert!(e.message().contains("Microsoft Graph"), "{}", e.message());
        assert!(
            e.detail()
                .and_then(|d| d.fix.as_deref())
                .is_some_and(|f| f.contains("--preset read")),
        );
    }
}
