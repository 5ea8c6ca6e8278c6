//! Mail Connections core: everything that knows about Microsoft, OAuth, tokens, secrets and
//! storage. It has no dependency on the desktop shell, so the CLI and the tests use it directly.

#![forbid(unsafe_code)]

pub mod aadsts;
pub mod application;
pub mod bridge;
pub mod caller;
pub mod client_secret;
pub mod clock;
pub mod cloud;
pub mod connect;
pub mod connection;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod flow;
pub mod graph;
pub mod http;
pub mod keychain;
pub mod logging;
pub mod mail;
pub mod mail_programs;
pub mod mail_servers;
pub mod oauth;
pub mod paths;
pub mod registration;
pub mod resource;
pub mod sasl;
pub mod scopes;
pub mod sensitive;
pub mod service;
pub mod settings;
pub mod store;
pub mod verification;

pub use error::{Error, ErrorBody, ErrorCode, ErrorDetail, Result};
pub use sensitive::Sensitive;
pub use service::Service;
