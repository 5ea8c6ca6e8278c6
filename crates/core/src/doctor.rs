//! Health checks shared by `mailconn doctor` and the app's status bar: the data directory, the
//! database and the keychain. Each check says what is wrong and how to fix it.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, ErrorCode};
use crate::keychain::Keychain;
use crate::paths::DataDir;
use crate::store::{Store, latest_schema_version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warning,
    Failed,
}

/// One health check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Check {
    /// Stable identifier: `data_dir`, `database`, `keychain`.
    pub id: String,
    pub label: String,
    pub status: CheckStatus,
    pub summary: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

impl Check {
    fn ok(id: &str, label: &str, summary: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            status: CheckStatus::Ok,
            summary: summary.into(),
            fix: None,
            code: None,
        }
    }

    fn failed(id: &str, label: &str, err: &Error) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            status: CheckStatus::Failed,
            summary: err.message().to_owned(),
            fix: err.detail().and_then(|d| d.fix.clone()),
            code: Some(err.code()),
        }
    }
}

/// Every check, in the order they depend on each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DoctorReport {
    pub data_dir: String,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Failed)
    }
}

/// Runs every check against the data directory and the secret store.
pub fn run(data_dir: &Path, secrets: &dyn Keychain) -> DoctorReport {
    let mut checks = Vec::new();
    match DataDir::open(data_dir) {
        Ok(dir) => {
            checks.push(check_writable(&dir));
            checks.push(check_database(&dir));
            if let Some(check) = Store::open(&dir.database())
                .ok()
                .and_then(|store| check_secrets(&store, secrets))
            {
                checks.push(check);
            }
        }
        Err(e) => {
            checks.push(Check::failed("data_dir", "Data directory", &e));
            let skipped = Error::new(
                ErrorCode::DataDir,
                "Not checked: the data directory is unusable.",
            );
            checks.push(Check::failed("database", "Database", &skipped));
        }
    }
    checks.push(check_keychain(secrets));
    DoctorReport {
        data_dir: data_dir.display().to_string(),
        checks,
    }
}

fn check_writable(dir: &DataDir) -> Check {
    let probe = dir.root().join(".write-test");
    match std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)) {
        Ok(()) => Check::ok(
            "data_dir",
            "Data directory",
            format!("{} is writable", dir.root().display()),
        ),
        Err(e) => Check::failed(
            "data_dir",
            "Data directory",
            &Error::new(
                ErrorCode::DataDir,
                format!("{} is not writable: {e}", dir.root().display()),
            )
            .with_fix("Fix the directory's permissions or choose another with --data-dir."),
        ),
    }
}

fn check_database(dir: &DataDir) -> Check {
    let label = "Database";
    let result = Store::open(&dir.database()).and_then(|store| {
        let version = store.schema_version()?;
        match store.quick_check()? {
            None => Ok(version),
            Some(problem) => Err(Error::new(
                ErrorCode::Database,
                format!("The database file is damaged: {problem}"),
            )
            .with_fix("Restore the file from a backup, or move it away to start afresh.")),
        }
    });
    match result {
        Ok(version) if version == latest_schema_version() => Check::ok(
            "database",
            label,
            format!("schema version {version}, integrity ok"),
        ),
        Ok(version) => Check::failed(
            "database",
            label,
            &Error::new(
                ErrorCode::Database,
                format!(
                    "The database has schema version {version}, newer than this program's {}.",
                    latest_schema_version()
                ),
            )
            .with_fix("Use the newer version of Mail Connections that created it."),
        ),
        Err(e) => Check::failed(
            "database",
            label,
            &e.with_fix_if_missing(
                "Check the file's permissions; if it is damaged, move it away to start afresh.",
            ),
        ),
    }
}

/// Every refresh token and client secret the database expects, read from the keychain: an entry
/// removed or changed outside the app is named with its fix. `None` when nothing is stored yet
/// or the keychain itself fails (the keychain check reports that).
fn check_secrets(store: &Store, secrets: &dyn Keychain) -> Option<Check> {
    use crate::keychain::{KeychainError, SecretKey};
    use crate::registration::ClientKind;
    let mut expected = Vec::new();
    for c in store.list_connections().ok()? {
        if c.has_refresh_token {
            expected.push((
                SecretKey::refresh_token(&c.id),
                format!("the refresh token of {}", c.address),
                format!("Sign in again: `mailconn reconnect {}`.", c.address),
            ));
        }
    }
    for r in store.list_registrations().ok()? {
        if r.has_secret && r.kind == ClientKind::Confidential {
            expected.push((
                SecretKey::client_secret(&r.id),
                format!("the client secret of app registration \"{}\"", r.name),
                format!(
                    "Enter the client secret again: `mailconn app secrets rotate-secret \"{}\" \
                     --secret-stdin --expires YYYY-MM-DD` (or in the app's Secrets tab).",
                    r.name
                ),
            ));
        }
    }
    if expected.is_empty() {
        return None;
    }
    let (mut missing, mut unreadable, mut fixes) = (Vec::new(), Vec::new(), Vec::new());
    for (key, what, fix) in &expected {
        match secrets.get(key) {
            Ok(Some(_)) => {}
            Ok(None) => {
                missing.push(what.clone());
                fixes.push(fix.clone());
            }
            Err(KeychainError::Unreadable(why)) => {
                unreadable.push(format!("{what} ({why})"));
                fixes.push(format!(
                    "Remove the entry `{}` from the keychain (`secret-tool clear service mailconn \
                     username {}`), then: {fix}",
                    key.account(),
                    key.account()
                ));
            }
            Err(_) => return None,
        }
    }
    let label = "Stored secrets";
    if missing.is_empty() && unreadable.is_empty() {
        return Some(Check::ok(
            "secrets",
            label,
            format!("all {} expected keychain entries are there", expected.len()),
        ));
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "Missing from the keychain (removed outside Mail Connections): {}.",
            missing.join(", ")
        ));
    }
    if !unreadable.is_empty() {
        parts.push(format!(
            "In the keychain but unreadable (changed outside Mail Connections or damaged): {}.",
            unreadable.join(", ")
        ));
    }
    Some(Check::failed(
        "secrets",
        label,
        &Error::new(ErrorCode::Keychain, parts.join(" ")).with_fix(fixes.join(" ")),
    ))
}

/// Writes, reads back and removes a throwaway keychain entry.
pub fn check_keychain(secrets: &dyn Keychain) -> Check {
    match secrets.probe() {
        Ok(()) => Check::ok("keychain", "Keychain", "secrets can be stored and read"),
        Err(e) => Check::failed("keychain", "Keychain", &Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sensitive;
    use crate::keychain::{KeychainError, MemoryKeychain, SecretKey};

    #[derive(Debug)]
    struct LockedStore;
    impl Keychain for LockedStore {
        fn set(&self, _: &SecretKey, _: &Sensitive<String>) -> Result<(), KeychainError> {
            Err(KeychainError::Locked("no result found".into()))
        }
        fn get(&self, _: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
            Err(KeychainError::Locked("no result found".into()))
        }
        fn delete(&self, _: &SecretKey) -> Result<(), KeychainError> {
            Ok(())
        }
    }

    #[test]
    fn healthy_report() {
        let tmp = tempfile::tempdir().unwrap();
        let report = run(tmp.path(), &MemoryKeychain::new());
        assert!(report.healthy(), "{report:?}");
        let ids: Vec<_> = report.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["data_dir", "database", "keychain"]);
    }

    #[test]
    fn locked_keychain_is_reported_with_a_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let report = run(tmp.path(), &LockedStore);
        assert!(!report.healthy());
        let keychain = report.checks.iter().find(|c| c.id == "keychain").unwrap();
        assert_eq!(keychain.status, CheckStatus::Failed);
        assert_eq!(keychain.code, Some(ErrorCode::KeychainLocked));
        assert!(keychain.fix.as_deref().unwrap().contains("Unlock"));
    }

    #[test]
    fn damaged_database_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(crate::paths::DATABASE_FILE),
            b"not a database at all, 100 bytes of junk .........................................",
        )
        .unwrap();
        let report = run(tmp.path(), &MemoryKeychain::new());
        let db = report.checks.iter().find(|c| c.id == "database").unwrap();
        assert_eq!(db.status, CheckStatus::Failed, "{db:?}");
        assert_eq!(db.code, Some(ErrorCode::Database));
        assert!(db.fix.is_some());
    }

    #[test]
    fn unusable_data_dir_fails_data_dir_and_database() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let report = run(&file, &MemoryKeychain::new());
        assert_eq!(report.checks[0].status, CheckStatus::Failed);
        assert_eq!(report.checks[1].status, CheckStatus::Failed);
        assert_eq!(report.checks[2].status, CheckStatus::Ok);
    }
}
