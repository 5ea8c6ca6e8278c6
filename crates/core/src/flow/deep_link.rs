//! The deep-link redirect: `mailconn://auth?code=...&state=...` reaches the running app through
//! the OS (custom URL scheme, single instance) instead of a loopback listener. Only public clients
//! that register the scheme can use it.
//!
//! Every URL arriving this way is untrusted input: anyone can open a `mailconn://` link. A URL is
//! accepted only if it is small, has exactly the expected scheme, host and path, no credentials or
//! fragment, and carries the `state` of a sign-in that is waiting (compared in constant time).
//! Anything else is refused without touching a pending sign-in.

use std::collections::HashMap;
use std::sync::Mutex;

use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::loopback::{Callback, MAX_REQUEST_URI};
use crate::Sensitive;
use crate::aadsts::MicrosoftError;
use crate::error::{Error, ErrorCode, Result};

/// The app's URL scheme.
pub const SCHEME: &str = "mailconn";
/// The redirect URI to register (Mobile and desktop applications platform).
pub const REDIRECT_URI: &str = crate::registration::DEEP_LINK_REDIRECT_URI;

/// Whether a link is meant as an import link (`mailconn://import...`, any case); it is checked
/// as one ([`crate::registration::transfer::parse_link`]), not as a sign-in redirect.
pub fn is_import(raw: &str) -> bool {
    let prefix = crate::registration::transfer::LINK_PREFIX;
    raw.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Whether a registered redirect URI is the deep-link one.
pub fn is_deep_link(redirect_uri: &str) -> bool {
    redirect_uri
        .trim_end_matches('/')
        .eq_ignore_ascii_case(REDIRECT_URI)
}

/// Sign-ins waiting for a deep link, by `state`.
#[derive(Debug, Default)]
pub struct DeepLinks {
    waiting: Mutex<HashMap<String, oneshot::Sender<Callback>>>,
}

impl DeepLinks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a sign-in's `state`; the receiver gets its callback.
    pub fn expect(&self, state: &str) -> oneshot::Receiver<Callback> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .expect("deep links poisoned")
            .insert(state.to_owned(), tx);
        rx
    }

    /// Forgets a sign-in (finished, cancelled or timed out).
    pub fn forget(&self, state: &str) {
        self.waiting
            .lock()
            .expect("deep links poisoned")
            .remove(state);
    }

    /// Validates a URL the OS handed to the app and routes it to its sign-in.
    pub fn deliver(&self, raw: &str) -> Result<()> {
        let (state, callback) = parse(raw)?;
        let mut waiting = self.waiting.lock().expect("deep links poisoned");
        let key = waiting
            .keys()
            .find(|k| bool::from(k.as_bytes().ct_eq(state.as_bytes())))
            .cloned()
            .ok_or_else(|| refused("it does not belong to a sign-in in progress"))?;
        let sender = waiting.remove(&key).expect("key just found");
        let _ = sender.send(callback);
        Ok(())
    }
}

fn refused(why: &str) -> Error {
    Error::new(
        ErrorCode::Validation,
        format!("A mailconn:// link was ignored: {why}."),
    )
}

/// Checks the shape of a deep-link callback and extracts its `state` and result.
pub fn parse(raw: &str) -> Result<(String, Callback)> {
    if raw.len() > MAX_REQUEST_URI {
        return Err(refused("it is too long"));
    }
    let url = url::Url::parse(raw).map_err(|_| refused("it is not a valid URL"))?;
    if url.scheme() != SCHEME || url.host_str() != Some("auth") || !matches!(url.path(), "" | "/") {
        return Err(refused("it is not a sign-in redirect"));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || url.port().is_some()
    {
        return Err(refused("it has parts a sign-in redirect never has"));
    }
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in url.query_pairs() {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(refused("a parameter appears twice"));
        }
    }
    let state = params
        .remove("state")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("it has no state"))?;
    let callback = if let Some(error) = params.remove("error") {
        Callback::Error(
            MicrosoftError {
                error,
                error_description: params.remove("error_description"),
                ..MicrosoftError::default()
            }
            .with_ids_from_description(),
        )
    } else {
        let code = params
            .remove("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused("it has neither a code nor an error"))?;
        Callback::Code(Sensitive::new(code))
    };
    Ok((state, callback))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_a_valid_callback_to_its_sign_in_once() {
        let links = DeepLinks::new();
        let mut rx = links.expect("state-1");
        links
            .deliver("mailconn://auth?code=abc&state=state-1")
            .unwrap();
        match rx.try_recv().unwrap() {
            Callback::Code(c) => assert_eq!(c.expose(), "abc"),
            Callback::Error(e) => panic!("{e:?}"),
        }
        let again = links
            .deliver("mailconn://auth?code=abc&state=state-1")
            .unwrap_err();
        assert!(
            again
                .message()
                .contains("does not belong to a sign-in in progress")
        );
    }

    #[test]
    fn untrusted_urls_are_refused_without_disturbing_the_sign_in() {
        let links = DeepLinks::new();
        let mut rx = links.expect("s");
        let long = format!(
            "mailconn://auth?state=s&code={}",
            "x".repeat(MAX_REQUEST_URI)
        );
        for (bad, why) in [
            ("mailconn://auth?code=abc&state=other", "does not belong"),
            ("mailconn://evil?code=abc&state=s", "not a sign-in redirect"),
            (
                "mailconn://auth/steal?code=abc&state=s",
                "not a sign-in redirect",
            ),
            ("https://auth?code=abc&state=s", "not a sign-in redirect"),
            (
                "mailconn://user:pw@auth?code=abc&state=s",
                "parts a sign-in redirect never has",
            ),
            (
                "mailconn://auth?code=abc&state=s#frag",
                "parts a sign-in redirect never has",
            ),
            ("mailconn://auth?code=a&code=b&state=s", "appears twice"),
            ("mailconn://auth?code=abc", "no state"),
            ("mailconn://auth?state=s", "neither a code nor an error"),
            ("not a url", "not a valid URL"),
            (long.as_str(), "too long"),
        ] {
            let err = links.deliver(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Validation);
            assert!(err.message().contains(why), "{bad}: {}", err.message());
        }
        assert!(
            rx.try_recv().is_err(),
            "nothing reached the waiting sign-in"
        );
        links.deliver("mailconn://auth?error=access_denied&error_description=AADSTS65004%3A+declined&state=s").unwrap();
        match rx.try_recv().unwrap() {
            Callback::Error(e) => assert_eq!(e.aadsts(), Some(65004)),
            Callback::Code(_) => panic!("expected the error"),
        }
    }

    #[test]
    fn recognises_the_deep_link_redirect_uri() {
        assert!(is_deep_link("mailconn://auth"));
        assert!(is_deep_link("mailconn://auth/"));
        assert!(!is_deep_link("http://localhost"));
    }
}
