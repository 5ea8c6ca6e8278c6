//! `Sensitive<T>`: a wrapper for secrets (client secrets, refresh and access tokens).
//!
//! Its `Debug` prints `[redacted]`, it has no `Display` and no `Serialize`, so a secret cannot reach
//! a log line, an IPC response or `SQLite` by accident. It can be deserialized, because secrets do
//! arrive from the user once (the wizard's secret field, stdin of the CLI). The inner value is
//! zeroed on drop where the type supports it.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroize;

/// A secret value. Read it with [`Sensitive::expose`] only where it leaves the process for the
/// keychain or an HTTP request.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Every call site is a place where the secret leaves our custody.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl Sensitive<String> {
    /// A secret with surrounding whitespace removed (pasted values often carry a newline).
    pub fn trimmed(value: &str) -> Self {
        Self(value.trim().to_owned())
    }

    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Sensitive<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Sensitive<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Sensitive::from("Abc8Q~very-secret-value");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "Abc8Q~very-secret-value");
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let s: Sensitive<String> = serde_json::from_str("\"  value\\n\"").unwrap();
        assert_eq!(s.expose(), "  value\n");
        assert_eq!(Sensitive::trimmed(s.expose()).expose(), "value");
        assert!(Sensitive::from(" \t").is_blank());
    }
}
