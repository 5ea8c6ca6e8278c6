//! Local passwords for the bridge: one per program or device, bound to one connection.
//!
//! A password is 28 characters from an alphabet without look-alikes (no `0 O 1 l I`), easy to
//! type on a printer's panel: the first [`KEY_LEN`] are its public lookup key (the row's id), the
//! other 20 (about 115 bits) are checked against an Argon2id hash. Since every password is
//! random and long, a guess costs the same whatever the hash's cost, so the parameters are light
//! (8 MiB, one pass): a login stays quick, and the database alone still gives nothing a program
//! could use. The password itself is shown once and never stored.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

use crate::Sensitive;
use crate::error::{Error, ErrorCode, Result};

/// The characters a password is made of.
const ALPHABET: &[u8] = b"23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
/// The public part: the first characters, used to find the row.
pub const KEY_LEN: usize = 8;
/// The whole password.
pub const LEN: usize = 28;
/// The longest program or device name.
pub const MAX_PROGRAM: usize = 64;

pub use crate::store::bridge::BridgePassword;

/// A password just made: shown once (the desktop shows it with a copy button; the CLI prints it
/// on its last line), then only its hash is kept. Not serializable: the one place that shows it
/// exposes it on purpose.
#[derive(Debug)]
pub struct NewBridgePassword {
    pub entry: BridgePassword,
    pub password: Sensitive<String>,
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(8 * 1024, 1, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A new random password.
pub fn generate() -> Sensitive<String> {
    let mut rng = rand::rngs::OsRng;
    Sensitive::new(
        (0..LEN)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect(),
    )
}

/// The lookup key of a password as typed, when it has the shape of one.
pub fn key_of(password: &str) -> Option<&str> {
    (password.len() == LEN && password.bytes().all(|b| ALPHABET.contains(&b)))
        .then(|| &password[..KEY_LEN])
}

/// The hash kept for a password.
pub fn hash(password: &Sensitive<String>) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(&password.expose().as_bytes()[KEY_LEN..], &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("could not hash the password: {e}")))
}

/// Whether a typed password matches a stored hash (constant time in the hash's comparison).
pub fn verify(password: &str, stored: &str) -> bool {
    let Some(rest) = password.get(KEY_LEN..) else {
        return false;
    };
    PasswordHash::new(stored).is_ok_and(|h| hasher().verify_password(rest.as_bytes(), &h).is_ok())
}

/// Checks a program or device name: what a person would write, one line, not too long.
pub fn check_program(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_PROGRAM || name.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorCode::Validation,
            format!(
                "\"{}\" is not a usable program or device name.",
                name.escape_default()
            ),
        )
        .with_fix(format!(
            "Name the program or device in one line of at most {MAX_PROGRAM} characters, e.g. \"Office scanner\" or \"Thunderbird\"."
        )));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_verifies_and_others_do_not() {
        let p = generate();
        assert_eq!(p.expose().len(), LEN);
        assert_eq!(key_of(p.expose()), Some(&p.expose()[..KEY_LEN]));
        let h = hash(&p).unwrap();
        assert!(!h.contains(&p.expose()[KEY_LEN..]));
        assert!(verify(p.expose(), &h));
        let mut wrong = p.expose().clone();
        let last = if wrong.ends_with('2') { "3" } else { "2" };
        wrong.replace_range(LEN - 1.., last);
        assert!(!verify(&wrong, &h));
        assert!(!verify("short", &h));
        assert_ne!(generate().expose(), p.expose());
    }

    #[test]
    fn only_password_shaped_text_has_a_key() {
        assert_eq!(key_of("hunter2"), None);
        assert_eq!(key_of(&"0".repeat(LEN)), None, "0 is not in the alphabet");
        assert_eq!(key_of(&"a".repeat(LEN)), Some("aaaaaaaa"));
    }

    #[test]
    fn program_names_are_one_short_line() {
        assert_eq!(
            check_program("  Office scanner ").unwrap(),
            "Office scanner"
        );
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_PROGRAM + 1)] {
            let e = check_program(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Validation, "{bad:?}");
        }
    }
}
