//! Which program is asking (the parent process), for the connection's history when a program
//! fetches a token. A best effort: `/proc` on Linux, `ps` on other Unix systems, "unknown"
//! elsewhere or when the parent is gone. A shell in between (`passwordeval`, `sh -c ...`) is
//! looked through, so the history names the mail program rather than `sh`.

/// Shells programs run commands through.
const SHELLS: &[&str] = &[
    "sh", "dash", "bash", "zsh", "fish", "ksh", "mksh", "busybox",
];

/// The calling program's name, e.g. `msmtp` or `msmtp (through sh)`; "unknown" when it
/// cannot be told.
pub fn parent_program() -> String {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let Some(name) = name_of(parent) else {
            return "unknown".to_owned();
        };
        if SHELLS.contains(&name.as_str())
            && let Some(grand) = parent_of(parent).and_then(name_of)
        {
            return format!("{grand} (through {name})");
        }
        name
    }
    #[cfg(not(unix))]
    {
        "unknown".to_owned()
    }
}

/// A process name as shown: printable characters only, at most 64 of them.
pub fn clean(name: &str) -> Option<String> {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(target_os = "linux")]
fn name_of(pid: u32) -> Option<String> {
    clean(&std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?)
}

#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    // `/proc/PID/stat`: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn ps(pid: u32, field: &str) -> Option<String> {
    let out = std::process::Command::new("ps")
        .args(["-o", &format!("{field}="), "-p", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(all(unix, not(target_os = "linux")))]
fn name_of(pid: u32) -> Option<String> {
    let full = ps(pid, "comm")?;
    clean(full.rsplit('/').next().unwrap_or(&full))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn parent_of(pid: u32) -> Option<u32> {
    ps(pid, "ppid")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean(" msmtp\n").as_deref(), Some("msmtp"));
        assert_eq!(clean("a\u{1b}[31mb").as_deref(), Some("a[31mb"));
        assert_eq!(clean("\n"), None);
        assert_eq!(clean(&"x".repeat(100)).map(|s| s.len()), Some(64));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_parent_of_this_test_is_named() {
        let name = parent_program();
        assert_ne!(name, "unknown");
        assert!(!name.is_empty());
        let me = std::process::id();
        assert_eq!(parent_of(me), Some(std::os::unix::process::parent_id()));
        assert!(name_of(me).is_some());
    }
}
