//! Mail Connections core: everything that knows about Microsoft, OAuth, tokens, secrets and
//! storage. It has no dependency on the desktop shell, so the CLI and the tests use it directly.

pub mod doctor;
pub mod error;
pub mod logging;
pub mod paths;
pub mod secret;
pub mod sensitive;
pub mod store;

pub use error::{Error, ErrorBody, ErrorCode, ErrorDetail, Result};
pub use sensitive::Sensitive;
