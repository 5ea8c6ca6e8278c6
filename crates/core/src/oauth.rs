//! The `oauth2` crate set up for Microsoft: token responses with an `id_token`, error bodies with
//! AADSTS codes, and the request failures those produce turned into user-facing errors.

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    EndpointNotSet, ExtraTokenFields, HttpClientError, RequestTokenError, StandardRevocableToken,
    StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::Sensitive;
use crate::aadsts::MicrosoftError;
use crate::error::{Error, ErrorCode};

/// Fields Microsoft adds to a token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MicrosoftExtra {
    /// Present when `openid` was requested. A JWT about the user: kept out of Debug and Serialize.
    #[serde(default, skip_serializing)]
    pub id_token: Option<Sensitive<String>>,
}

impl ExtraTokenFields for MicrosoftExtra {}

pub type TokenResponse = StandardTokenResponse<MicrosoftExtra, BasicTokenType>;

/// An `oauth2` client speaking Microsoft's dialect; endpoint states as in `oauth2::Client`.
pub type Client<Auth = EndpointNotSet, Device = EndpointNotSet, Token = EndpointNotSet> =
    oauth2::Client<
        MicrosoftError,
        TokenResponse,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
        Auth,
        Device,
        EndpointNotSet,
        EndpointNotSet,
        Token,
    >;

pub type TokenError = RequestTokenError<HttpClientError<reqwest::Error>, MicrosoftError>;

/// Explains a failed token request. `who` names the service, e.g. "The identity provider".
pub fn token_error(who: &str, e: &TokenError) -> Error {
    match e {
        RequestTokenError::ServerResponse(ms) => ms.to_error(),
        RequestTokenError::Request(inner) => crate::http::network_error(who, inner),
        RequestTokenError::Parse(_, _) => Error::new(
            ErrorCode::Network,
            format!("{who} answered with something that is not a token response (it may be down or behind a captive portal)."),
        )
        .with_fix("Check the authority URL of the cloud and try again later."),
        RequestTokenError::Other(text) => Error::new(ErrorCode::IdentityProvider, format!("{who} failed: {text}")),
    }
}
