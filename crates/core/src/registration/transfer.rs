//! Sharing app registrations without their secrets: a JSON file of many (export and import),
//! and a `mailconn://import?...` link of one that an administrator sends to colleagues.
//!
//! Both are untrusted input when they come back. Nothing here saves anything: a file or link is
//! parsed into [`SharedRegistration`]s, refused whole when it is too big, malformed, names a
//! field a registration does not have, or carries anything secret (a field named like a secret,
//! password or token, or a value shaped like one); each registration is then checked by the
//! same validation as the wizard's ([`super::validate_shared`]: a Web app may come without its
//! secret, which is pasted in afterwards). The caller shows the result in full and saves only
//! after the person confirms.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{
    Audience, ClientKind, Registration, RegistrationInput, Usage, Valid, ValidationReport,
    validate_shared,
};
use crate::cloud::CloudId;
use crate::error::{Error, ErrorCode, Result};
use crate::scopes::Preset;

/// The link's scheme and host: `mailconn://import?...`.
pub const LINK_PREFIX: &str = "mailconn://import";
/// A link holds one registration: its longest fields (URLs, 256-character redirect URI) fit
/// many times over; anything longer is not a link this app made.
pub const MAX_LINK: usize = 4096;
/// An export file of a few hundred registrations is well under this.
pub const MAX_FILE: usize = 1024 * 1024;
/// More registrations than anyone keeps; a longer list is not an export of this app.
pub const MAX_REGISTRATIONS: usize = 500;
/// What the file's `format` field says.
pub const FILE_FORMAT: &str = "mailconn-registrations";
/// The version of the file and the link (`v=1`).
pub const VERSION: u32 = 1;
/// A field longer than this is not a registration's (names are at most 80 characters, URLs and
/// server addresses a few hundred).
const MAX_FIELD: usize = 1024;

/// One app registration as shared: everything but the secret and what belongs to this
/// installation (its id, connections, test results, the secret's hint and dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SharedRegistration {
    pub name: String,
    pub client_id: String,
    pub kind: ClientKind,
    pub tenant: String,
    pub cloud: CloudId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_server: Option<String>,
    pub usage: Usage,
    pub audience: Audience,
    pub preset: Preset,
    pub redirect_uri: String,
}

/// The fields, in the order a link lists them, and whether each must be present.
const FIELDS: [(&str, bool); 14] = [
    ("name", true),
    ("client_id", true),
    ("kind", true),
    ("tenant", true),
    ("cloud", true),
    ("authority_url", false),
    ("graph_url", false),
    ("imap_server", false),
    ("pop_server", false),
    ("smtp_server", false),
    ("usage", true),
    ("audience", true),
    ("preset", true),
    ("redirect_uri", true),
];

impl From<&Registration> for SharedRegistration {
    fn from(r: &Registration) -> Self {
        Self {
            name: r.name.clone(),
            client_id: r.client_id.clone(),
            kind: r.kind,
            tenant: r.tenant.clone(),
            cloud: r.cloud,
            authority_url: r.authority_url.clone(),
            graph_url: r.graph_url.clone(),
            imap_server: r.imap_server.clone(),
            pop_server: r.pop_server.clone(),
            smtp_server: r.smtp_server.clone(),
            usage: r.usage,
            audience: r.audience,
            preset: r.preset,
            redirect_uri: r.redirect_uri.clone(),
        }
    }
}

impl SharedRegistration {
    /// What the wizard would have been given, without a secret.
    pub fn input(&self) -> RegistrationInput {
        RegistrationInput {
            name: self.name.clone(),
            client_id: self.client_id.clone(),
            kind: self.kind,
            tenant: self.tenant.clone(),
            cloud: self.cloud,
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
            imap_server: self.imap_server.clone(),
            pop_server: self.pop_server.clone(),
            smtp_server: self.smtp_server.clone(),
            usage: self.usage,
            audience: self.audience,
            preset: self.preset,
            redirect_uri: Some(self.redirect_uri.clone()),
            secret: None,
            secret_expires: None,
            secret_label: None,
        }
    }

    /// The wizard's checks, a missing secret allowed.
    pub fn validate(&self, today: NaiveDate) -> (ValidationReport, Option<Valid>) {
        validate_shared(&self.input(), today)
    }

    /// The fields as (name, text), in link order, absent ones left out.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("name", self.name.clone()),
            ("client_id", self.client_id.clone()),
            ("kind", text(&self.kind)),
            ("tenant", self.tenant.clone()),
            ("cloud", text(&self.cloud)),
        ];
        for (name, value) in [
            ("authority_url", &self.authority_url),
            ("graph_url", &self.graph_url),
            ("imap_server", &self.imap_server),
            ("pop_server", &self.pop_server),
            ("smtp_server", &self.smtp_server),
        ] {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        out.extend([
            ("usage", text(&self.usage)),
            ("audience", text(&self.audience)),
            ("preset", text(&self.preset)),
            ("redirect_uri", self.redirect_uri.clone()),
        ]);
        out
    }

    /// The `mailconn://import?v=1&name=...` link for this registration.
    pub fn link(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("v", &VERSION.to_string());
        for (name, value) in self.fields() {
            query.append_pair(name, &value);
        }
        format!("{LINK_PREFIX}?{}", query.finish())
    }
}

/// A unit-like enum's serde name (`public`, `gcc-high`).
fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The export file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u32,
    exported_at: DateTime<Utc>,
    registrations: Vec<serde_json::Value>,
}

/// The JSON export of `registrations` (pretty, one field a line, no secret).
pub fn export_json(registrations: &[Registration], now: DateTime<Utc>) -> String {
    let file = ExportFile {
        format: FILE_FORMAT.to_owned(),
        version: VERSION,
        exported_at: now,
        registrations: registrations
            .iter()
            .map(|r| serde_json::to_value(SharedRegistration::from(r)).unwrap_or_default())
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// Where shared registrations came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SharedFrom {
    Link,
    File,
}

/// Reads pasted text: a `mailconn://import` link, or an export file's JSON.
pub fn parse(text: &str) -> Result<(SharedFrom, Vec<SharedRegistration>)> {
    let trimmed = text.trim();
    if trimmed.len() >= 9 && trimmed[..9].eq_ignore_ascii_case("mailconn:") {
        Ok((SharedFrom::Link, vec![parse_link(trimmed)?]))
    } else {
        Ok((SharedFrom::File, parse_file(trimmed)?))
    }
}

fn link_refused(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::Validation,
        format!("This import link was refused: {why}. Nothing was saved."),
    )
    .with_fix("Ask whoever sent it for a new link (Copy import link in Mail Connections).")
}

fn file_refused(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::Validation,
        format!("This file cannot be imported: {why}. Nothing was saved."),
    )
    .with_fix("Use a file written by Export in Mail Connections (Settings, or `mailconn app export-registrations`).")
}

/// A name for a field that only secrets have.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "token",
        "assertion",
        "verifier",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Why a field's value cannot be taken, whatever the field.
fn bad_value(name: &str, value: &str) -> Option<String> {
    if value.len() > MAX_FIELD {
        return Some(format!("{name} is longer than {MAX_FIELD} characters"));
    }
    // Control characters, and the invisible ones that reorder or hide text on screen.
    if value.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    }) {
        return Some(format!("{name} holds control or invisible characters"));
    }
    if crate::logging::redact(value) != value {
        return Some(format!(
            "{name} holds what looks like a client secret or token, which is never shared"
        ));
    }
    None
}

/// Checks the fields' names and values and builds the registration; `refused` words the error.
fn from_fields(
    mut fields: BTreeMap<String, String>,
    refused: &dyn Fn(String) -> Error,
) -> Result<SharedRegistration> {
    if let Some(name) = fields.keys().find(|k| secret_name(k)) {
        return Err(refused(format!(
            "it carries a \"{name}\", and a client secret is never shared this way"
        ))
        .with_fix(
            "Ask for the registration without its secret; the secret is pasted in separately \
             (or create your own in the portal).",
        ));
    }
    if let Some(name) = fields.keys().find(|k| !FIELDS.iter().any(|(f, _)| f == k)) {
        return Err(refused(format!(
            "\"{name}\" is not part of an app registration"
        )));
    }
    for (name, value) in &fields {
        if let Some(why) = bad_value(name, value) {
            return Err(refused(why));
        }
    }
    for (name, required) in FIELDS {
        if required && fields.get(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(refused(format!("it has no {name}")));
        }
    }
    let choice = |name: &str, options: &[&str]| -> Result<serde_json::Value> {
        let value = fields.get(name).cloned().unwrap_or_default();
        if options.contains(&value.as_str()) {
            Ok(serde_json::Value::String(value))
        } else {
            Err(refused(format!(
                "{name} \"{value}\" is not one of {}",
                options.join(", ")
            )))
        }
    };
    let mut object = serde_json::Map::new();
    object.insert("kind".into(), choice("kind", &["public", "confidential"])?);
    object.insert(
        "cloud".into(),
        choice("cloud", &["global", "gcc-high", "dod", "china", "custom"])?,
    );
    object.insert(
        "usage".into(),
        choice("usage", &["delegated", "application", "both"])?,
    );
    object.insert(
        "audience".into(),
        choice(
            "audience",
            &[
                "my_organization",
                "any_organization",
                "any_organization_and_personal",
            ],
        )?,
    );
    let presets: Vec<&str> = Preset::ALL.iter().map(|p| p.as_str()).collect();
    object.insert("preset".into(), choice("preset", &presets)?);
    for name in ["kind", "cloud", "usage", "audience", "preset"] {
        fields.remove(name);
    }
    for (name, value) in fields {
        object.insert(name, serde_json::Value::String(value));
    }
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| refused(format!("it does not describe an app registration ({e})")))
}

/// Reads a `mailconn://import?v=1&...` link. Untrusted: anyone can send or open one.
pub fn parse_link(raw: &str) -> Result<SharedRegistration> {
    if raw.len() > MAX_LINK {
        return Err(link_refused(format!(
            "it is {} characters long, more than the {MAX_LINK} a registration needs",
            raw.len()
        )));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| link_refused("it is not a valid link"))?;
    if url.scheme() != "mailconn" {
        return Err(link_refused("it is not a mailconn:// link"));
    }
    if url.host_str() != Some("import") || !matches!(url.path(), "" | "/") {
        return Err(link_refused(
            "it is not an import link (mailconn://import?...)",
        ));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
        || url.fragment().is_some()
    {
        return Err(link_refused("it has parts an import link never has"));
    }
    let mut fields = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        if fields.insert(k.to_string(), v.to_string()).is_some() {
            return Err(link_refused(format!("{k} appears twice")));
        }
    }
    match fields.remove("v").as_deref() {
        Some("1") => {}
        Some(v) => {
            return Err(link_refused(format!(
                "it is of version {v}, and this version of Mail Connections reads version 1"
            )));
        }
        None => return Err(link_refused("it has no version (v=1)")),
    }
    from_fields(fields, &|why| link_refused(why))
}

/// The error for a file over [`MAX_FILE`].
pub fn file_too_large() -> Error {
    file_refused(format!(
        "it is larger than {} MiB",
        MAX_FILE / (1024 * 1024)
    ))
}

/// Reads an export file's JSON.
pub fn parse_file(text: &str) -> Result<Vec<SharedRegistration>> {
    if text.len() > MAX_FILE {
        return Err(file_too_large());
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| file_refused(format!("it is not JSON ({e})")))?;
    let Some(object) = value.as_object() else {
        return Err(file_refused("it is not an export of app registrations"));
    };
    if object.get("format").and_then(|f| f.as_str()) != Some(FILE_FORMAT) {
        return Err(file_refused(format!(
            "it is not an export of app registrations (no \"format\": \"{FILE_FORMAT}\")"
        )));
    }
    match object.get("version").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(v) => {
            return Err(file_refused(format!(
                "it is of version {v}, and this version of Mail Connections reads version 1"
            )));
        }
        None => return Err(file_refused("it has no version")),
    }
    let Some(list) = object.get("registrations").and_then(|r| r.as_array()) else {
        return Err(file_refused("it has no list of registrations"));
    };
    if list.len() > MAX_REGISTRATIONS {
        return Err(file_refused(format!(
            "it lists {} registrations, more than {MAX_REGISTRATIONS}",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let n = i + 1;
            let refused = |why: String| file_refused(format!("registration {n}: {why}"));
            let Some(entry) = entry.as_object() else {
                return Err(refused("it is not an object".to_owned()));
            };
            let mut fields = BTreeMap::new();
            for (k, v) in entry {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => continue,
                    _ if secret_name(k) => String::new(),
                    _ => return Err(refused(format!("{k} is not text"))),
                };
                fields.insert(k.clone(), text);
            }
            from_fields(fields, &refused)
        })
        .collect()
}

#[cfg(test)]
mod tests;
