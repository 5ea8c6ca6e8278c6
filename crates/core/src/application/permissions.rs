//! Which application permissions the app holds (the app-only token's `roles` claim) against what
//! the chosen use of its mailboxes needs. The four that matter here are Mail.Read,
//! Mail.ReadWrite, Mail.Send and User.Read.All; broader permissions count for narrower ones
//! (Mail.ReadWrite covers Mail.Read). Granting them is the administrator's job in the portal.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};
use crate::oauth::AppToken;

/// What the app will do with the organisation's mailboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum MailboxUse {
    /// Read mail.
    Read,
    /// Send mail as the mailbox.
    Send,
    /// Read, organise and send mail (the application preset).
    #[default]
    Full,
}

impl MailboxUse {
    pub const ALL: [MailboxUse; 3] = [MailboxUse::Read, MailboxUse::Send, MailboxUse::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            MailboxUse::Read => "read",
            MailboxUse::Send => "send",
            MailboxUse::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The use a stored mailbox was added for, read back from the permissions it asked for.
    pub fn of_requested(requested: &[String]) -> Self {
        Self::ALL
            .into_iter()
            .find(|u| {
                u.needs().len() == requested.len()
                    && u.needs().iter().all(|n| requested.iter().any(|r| r == n))
            })
            .unwrap_or_default()
    }

    pub fn label(self) -> &'static str {
        match self {
            MailboxUse::Read => "reading mail",
            MailboxUse::Send => "sending mail",
            MailboxUse::Full => "reading, organising and sending mail",
        }
    }

    fn needs(self) -> &'static [&'static str] {
        match self {
            MailboxUse::Read => &[MAIL_READ, USER_READ_ALL],
            MailboxUse::Send => &[MAIL_SEND, USER_READ_ALL],
            MailboxUse::Full => &[MAIL_READ_WRITE, MAIL_SEND, USER_READ_ALL],
        }
    }
}

const MAIL_READ: &str = "Mail.Read";
const MAIL_READ_WRITE: &str = "Mail.ReadWrite";
const MAIL_SEND: &str = "Mail.Send";
const USER_READ_ALL: &str = "User.Read.All";

/// The permissions shown, in this order, each with the broader ones that include it.
const CHECKED: [(&str, &[&str], &str); 4] = [
    (
        MAIL_READ,
        &[MAIL_READ_WRITE],
        "Read mail in every mailbox the app may reach",
    ),
    (
        MAIL_READ_WRITE,
        &[],
        "Read, move and delete mail in every mailbox the app may reach",
    ),
    (MAIL_SEND, &[], "Send mail as any mailbox the app may reach"),
    (
        USER_READ_ALL,
        &[
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "Find mailboxes by their address",
    ),
];

/// One permission: needed for the use or not, held or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RoleStatus {
    pub name: String,
    pub purpose: String,
    pub needed: bool,
    /// Held as such, or through a broader permission (`covered_by`).
    pub granted: bool,
    /// The broader permission that includes this one, when only that is held.
    pub covered_by: Option<String>,
}

/// The app's permissions for a use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PermissionCheck {
    pub mailbox_use: MailboxUse,
    /// Every role the token carries, as Microsoft names them.
    pub roles: Vec<String>,
    pub permissions: Vec<RoleStatus>,
    /// Needed but not held. Empty when the roles are unknown (`roles_known` false): nothing is
    /// known to be missing then.
    pub missing: Vec<String>,
    /// Whether the token showed its roles. When it does not (an opaque token), every
    /// permission's `granted` is false meaning "unknown", `ok` is false, and Graph's answers
    /// decide: the app still tries.
    pub roles_known: bool,
    pub ok: bool,
    pub summary: String,
}

fn holds(roles: &[String], name: &str) -> bool {
    roles.iter().any(|r| r.eq_ignore_ascii_case(name))
}

impl PermissionCheck {
    pub fn of(roles: &[String], mailbox_use: MailboxUse) -> Self {
        let needs = mailbox_use.needs();
        let permissions: Vec<RoleStatus> = CHECKED
            .iter()
            .map(|(name, broader, purpose)| {
                let direct = holds(roles, name);
                let covered_by = (!direct)
                    .then(|| broader.iter().find(|b| holds(roles, b)))
                    .flatten()
                    .map(|b| (*b).to_owned());
                RoleStatus {
                    name: (*name).to_owned(),
                    purpose: (*purpose).to_owned(),
                    needed: needs.contains(name),
                    granted: direct || covered_by.is_some(),
                    covered_by,
                }
            })
            .collect();
        let missing: Vec<String> = permissions
            .iter()
            .filter(|p| p.needed && !p.granted)
            .map(|p| p.name.clone())
            .collect();
        let summary = if missing.is_empty() {
            format!(
                "The app holds every permission {} needs.",
                mailbox_use.label()
            )
        } else {
            format!(
                "The app lacks {} for {}. An administrator adds {} under API permissions (Microsoft Graph, application permissions) and grants admin consent.",
                missing.join(" and "),
                mailbox_use.label(),
                if missing.len() == 1 { "it" } else { "them" }
            )
        };
        Self {
            mailbox_use,
            roles: roles.to_vec(),
            roles_known: true,
            ok: missing.is_empty(),
            missing,
            permissions,
            summary,
        }
    }

    /// The check for an app-only token: its roles when it shows them, else "unknown".
    pub fn of_token(token: &AppToken, mailbox_use: MailboxUse) -> Self {
        if token.roles_known {
            Self::of(&token.roles, mailbox_use)
        } else {
            Self::unknown(mailbox_use)
        }
    }

    /// The token does not show its roles: nothing is known to be held or missing.
    pub fn unknown(mailbox_use: MailboxUse) -> Self {
        let needs = mailbox_use.needs();
        let permissions = CHECKED
            .iter()
            .map(|(name, _, purpose)| RoleStatus {
                name: (*name).to_owned(),
                purpose: (*purpose).to_owned(),
                needed: needs.contains(name),
                granted: false,
                covered_by: None,
            })
            .collect();
        Self {
            mailbox_use,
            roles: Vec::new(),
            permissions,
            missing: Vec::new(),
            roles_known: false,
            ok: false,
            summary: format!(
                "The app's token does not show its permissions (Microsoft's tokens need not be readable), so whether it may do {} is known only from Microsoft Graph's answers: adding mailboxes asks Graph and explains what it refuses.",
                mailbox_use.label()
            ),
        }
    }

    /// The needed permissions as the connection records them: a needed one held only through a
    /// broader permission is recorded as that one, so "requested but not granted" stays true.
    pub fn requested(&self) -> Vec<String> {
        self.permissions
            .iter()
            .filter(|p| p.needed)
            .map(|p| p.covered_by.clone().unwrap_or_else(|| p.name.clone()))
            .collect()
    }

    /// Looking mailboxes up by address needs directory access; without it every lookup fails, so
    /// adding mailboxes stops before it starts.
    /// With roles unknown the lookup is tried: Graph's answer (403 `Authorization_RequestDenied`)
    /// says it when the permission is missing.
    pub fn require_lookup(&self) -> Result<()> {
        if !self.roles_known {
            return Ok(());
        }
        let lookup = self
            .permissions
            .iter()
            .find(|p| p.name == USER_READ_ALL)
            .is_some_and(|p| p.granted);
        if lookup {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::NeedsConsent,
            "The app may not look up mailboxes by address: it lacks the User.Read.All application permission.",
        )
        .with_fix("An administrator adds User.Read.All (Microsoft Graph, application permission) to the app registration and grants admin consent; then check again."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_default_application_roles_cover_every_use() {
        let held = roles(&["Mail.ReadWrite", "Mail.Send", "User.Read.All"]);
        for u in MailboxUse::ALL {
            let check = PermissionCheck::of(&held, u);
            assert!(check.ok, "{u:?}: {}", check.summary);
            check.require_lookup().unwrap();
        }
        let read = PermissionCheck::of(&held, MailboxUse::Read);
        let mail_read = &read.permissions[0];
        assert_eq!(mail_read.name, "Mail.Read");
        assert!(mail_read.needed && mail_read.granted);
        assert_eq!(mail_read.covered_by.as_deref(), Some("Mail.ReadWrite"));
        assert_eq!(read.requested(), ["Mail.ReadWrite", "User.Read.All"]);
        assert!(
            !read.permissions[2].needed,
            "Mail.Send is not needed to read"
        );
        assert_eq!(
            read.summary,
            "The app holds every permission reading mail needs."
        );
    }

    #[test]
    fn missing_permissions_are_named_with_the_way_to_get_them() {
        let check = PermissionCheck::of(&roles(&["mail.read"]), MailboxUse::Full);
        assert!(!check.ok);
        assert_eq!(
            check.missing,
            ["Mail.ReadWrite", "Mail.Send", "User.Read.All"]
        );
        assert!(check.summary.contains("admin consent"), "{}", check.summary);
        assert!(check.permissions[0].granted, "names compare without case");
        let e = check.require_lookup().unwrap_err();
        assert_eq!(e.code(), ErrorCode::NeedsConsent);
        assert!(e.message().contains("User.Read.All"));

        let directory = PermissionCheck::of(
            &roles(&["Mail.Send", "Directory.Read.All"]),
            MailboxUse::Send,
        );
        assert!(directory.ok);
        assert_eq!(directory.requested(), ["Mail.Send", "Directory.Read.All"]);
    }

    #[test]
    fn unreadable_roles_are_unknown_not_missing() {
        for u in MailboxUse::ALL {
            let check = PermissionCheck::unknown(u);
            assert!(!check.roles_known);
            assert!(!check.ok);
            assert!(check.missing.is_empty(), "nothing is known to be missing");
            assert!(
                !check.summary.contains("lacks"),
                "never claims a permission is missing: {}",
                check.summary
            );
            assert!(
                check.summary.contains("Microsoft Graph"),
                "{}",
                check.summary
            );
            check
                .require_lookup()
                .expect("the lookup is tried; Graph answers");
            assert_eq!(
                check.requested(),
                PermissionCheck::of(&[], u).requested(),
                "the needed permissions are still recorded as requested"
            );
        }
        let opaque = AppToken::new(
            "EwBopaque-token-of-a-personal-looking-kind".to_owned(),
            chrono::Utc::now(),
            chrono::TimeDelta::hours(1),
        );
        assert!(!opaque.roles_known);
        assert!(!PermissionCheck::of_token(&opaque, MailboxUse::Full).roles_known);
    }

    #[test]
    fn a_readable_token_without_roles_is_missing_them() {
        let token = AppToken::new(
            crate::application::testing::jwt(&serde_json::json!({"tid": "t", "exp": 1})),
            chrono::Utc::now(),
            chrono::TimeDelta::hours(1),
        );
        assert!(token.roles_known);
        let check = PermissionCheck::of_token(&token, MailboxUse::Read);
        assert!(check.roles_known);
        assert_eq!(check.missing, ["Mail.Read", "User.Read.All"]);
        assert!(check.require_lookup().is_err());
    }

    #[test]
    fn uses_round_trip_their_names() {
        for u in MailboxUse::ALL {
            assert_eq!(MailboxUse::parse(u.as_str()), Some(u));
        }
        assert_eq!(MailboxUse::default(), MailboxUse::Full);
    }
}
