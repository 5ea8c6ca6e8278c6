//! The data directory: where the database and the logs live (never secrets).
//!
//! One place per OS (XDG data home on Linux, Application Support on macOS, `AppData` on Windows),
//! overridable by `--data-dir` or `MAILCONN_DATA_DIR` in both the app and the CLI.
//!
//! On Unix the directory (and any parent it has to create) is made with mode 0700 by the
//! `mkdir` call itself, so it never exists with a wider mode, and opening it sets the process's
//! umask to 077: the database, its WAL, the logs and the lock files are created 0600.

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
    /// Creates the directory (mode 0700 on Unix, atomically) if needed, and makes everything the
    /// process creates from now on private (see [`private_umask`]).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        private_umask();
        create_private_dir(&root).map_err(|e| dir_error(&root, &e))?;
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

/// Sets the process's umask to 077 (Unix): every file it creates afterwards is 0600 at most and
/// every directory 0700, whoever creates it (`SQLite`'s WAL, the log appender, lock files).
pub fn private_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Creates `dir` and any missing parent with mode 0700 in the `mkdir` call itself (Unix), so none
/// of them ever exists with a wider mode. An existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Narrows an existing file to 0600 (Unix) if it is readable by anyone else.
pub fn make_private(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
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

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn every_directory_created_is_private_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("new-parent");
        let dir = DataDir::open(parent.join("mailconn")).unwrap();
        // The parent was created by the same call: it never had a wider mode either.
        assert_eq!(mode(&parent), 0o700);
        assert_eq!(mode(dir.root()), 0o700);
        // Whatever is created in it afterwards (database, WAL, logs, locks) is private.
        std::fs::write(dir.root().join("some.lock"), b"").unwrap();
        assert_eq!(mode(&dir.root().join("some.lock")), 0o600);
        std::fs::create_dir_all(dir.locks()).unwrap();
        assert_eq!(mode(&dir.locks()), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn files_readable_by_others_are_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("old.log");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        make_private(&tmp.path().join("absent")).unwrap();
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
