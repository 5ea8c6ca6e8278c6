//! The SASL exchange of a local login, the same in IMAP `AUTHENTICATE`, POP `AUTH` and SMTP
//! `AUTH` but for the continuation's prefix (`+ ` or `334 `): PLAIN (RFC 4616, with or without an
//! initial response, `=` for an empty one) and LOGIN (the de-facto user name and password
//! prompts). `*` cancels.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::io::{Local, Stop};
use super::limits::MAX_LOGIN_LINE;
use crate::Sensitive;

/// How an exchange ended.
#[derive(Debug)]
pub enum Outcome {
    Creds(String, Sensitive<String>),
    /// Not PLAIN or LOGIN.
    Unsupported,
    /// Cancelled with `*`, or an answer that does not decode.
    Invalid,
}

/// `authzid NUL authcid NUL password` of SASL PLAIN.
pub fn plain(b64: &str) -> Option<(String, Sensitive<String>)> {
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let mut parts = raw.split(|b| *b == 0);
    let (_authz, user, pass) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((
        String::from_utf8(user.to_vec()).ok()?,
        Sensitive::new(String::from_utf8(pass.to_vec()).ok()?),
    ))
}

fn decode(b64: &str) -> Option<String> {
    String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()
}

async fn ask(local: &mut Local, prefix: &str, prompt: &str) -> Result<Option<String>, Stop> {
    local.send(&format!("{prefix}{prompt}\r\n")).await?;
    let line = local.line(MAX_LOGIN_LINE).await?;
    Ok((line != "*").then_some(line))
}

/// Runs the exchange for `args` (`MECHANISM [initial-response]`), prompting with `prefix`.
pub async fn exchange(local: &mut Local, prefix: &str, args: &str) -> Result<Outcome, Stop> {
    let (mechanism, initial) = args.split_once(' ').unwrap_or((args, ""));
    let creds = match mechanism.to_ascii_uppercase().as_str() {
        "PLAIN" => {
            let response = if initial.is_empty() {
                ask(local, prefix, "").await?
            } else {
                Some(initial.to_owned())
            };
            response.and_then(|r| plain(if r == "=" { "" } else { &r }))
        }
        "LOGIN" => {
            let user = if initial.is_empty() {
                ask(local, prefix, "VXNlcm5hbWU6").await?
            } else {
                Some(initial.to_owned())
            }
            .and_then(|u| decode(&u));
            let pass = match user {
                Some(_) => ask(local, prefix, "UGFzc3dvcmQ6")
                    .await?
                    .and_then(|p| decode(&p)),
                None => None,
            };
            user.zip(pass.map(Sensitive::new))
        }
        _ => return Ok(Outcome::Unsupported),
    };
    Ok(creds.map_or(Outcome::Invalid, |(u, p)| Outcome::Creds(u, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_plain_splits_into_user_and_password() {
        let b64 = STANDARD.encode(b"\0ada@example.com\0secret pass");
        let (user, pass) = plain(&b64).unwrap();
        assert_eq!(user, "ada@example.com");
        assert_eq!(pass.expose(), "secret pass");
        assert!(plain("not base64!").is_none());
        assert!(plain(&STANDARD.encode(b"no nuls")).is_none());
        assert!(plain(&STANDARD.encode(b"a\0b\0c\0d")).is_none());
    }
}
