//! Sign-in and token flows: authorization code with PKCE over a loopback redirect, device code,
//! and the identity read from the `id_token`. What a token response yields ([`crate::oauth::Tokens`])
//! and client credentials are the OAuth module's.

pub mod auth_code;
pub mod deep_link;
pub mod device_code;
pub mod identity;
pub mod loopback;
