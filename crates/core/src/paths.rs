//! The data directory: where the database and the logs live (never secrets).
//!
//! One place per OS (XDG data home on Linux, Application Support on macOS, `AppData` on Windows),
//! overridable by `--data-dir` or `MAILCONN_DATA_DIR` in both the app and the CLI.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "MAILCONN_DATA_DIR";

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "mailconn.sqlite3";

/// The platform's usual data directory for the app, e.g. `~/.local/share/mailconn`.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "mailconn").map(|d| d.data_dir().to_path_buf())
}

/// The data directory to use: the explicit choice, else `MAILCONN_DATA_DIR`, else the default.
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    default_data_dir().ok_or_else(|| {
        Error::new(
            ErrorCode::DataDir,
            "Could not find a home directory for the app's data.",
        )
        .with_fix(format!("Set {DATA_DIR_ENV} or pass --data-dir."))
    })
}

/// A data directory that exists and is private to the user.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the directory (mode 0700 on Unix) if needed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| dir_error(&root, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| dir_error(&root, &e))?;
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The directory for cross-process lock files.
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }
}

fn dir_error(root: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::DataDir,
        format!("The data directory {} cannot be used: {e}", root.display()),
    )
    .with_fix(format!(
        "Check that the directory is writable by you, or choose another one with --data-dir or \
         {DATA_DIR_ENV}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_beats_default_and_dir_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let chosen = tmp.path().join("a/b");
        assert_eq!(resolve_data_dir(Some(&chosen)).unwrap(), chosen);
        let dir = DataDir::open(&chosen).unwrap();
        assert!(dir.root().is_dir());
        assert_eq!(dir.database(), chosen.join(DATABASE_FILE));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&chosen).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
    }

    #[test]
    fn unusable_directory_is_explained() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = DataDir::open(file.join("sub")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DataDir);
        assert!(
            err.message().contains("cannot be used"),
            "{}",
            err.message()
        );
        assert!(
            err.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("--data-dir")
        );
    }
}
