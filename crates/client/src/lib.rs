//! A client for AWS-compatible STS — Tessera or AWS itself — in the shape of `rusoto_sts`: the
//! [`Sts`] trait with one method per action (all 11), [`StsClient`] implementing it over
//! reqwest and our own SigV4 signer, typed requests and responses, one error enum per action,
//! and credential providers that honour endpoint overrides everywhere.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tessera_client::{Endpoint, GetCallerIdentityRequest, StaticProvider, Sts, StsClient};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = StsClient::new(
//!     Endpoint::custom("http://127.0.0.1:8470", "us-east-1"),
//!     Arc::new(StaticProvider::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)),
//! );
//! let me = client.get_caller_identity(GetCallerIdentityRequest::default()).await?;
//! println!("{}", me.arn.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! Every action has an example on its [`Sts`] method's request type; `examples/` shows the
//! providers.

mod client;
mod credentials;
mod error;
mod profile;
mod providers;
#[cfg(feature = "aws-sdk")]
pub mod sdk;
mod types;
mod xml;

pub use client::{Endpoint, Sts, StsClient};
pub use credentials::{
    AutoRefreshingProvider, AwsCredentials, ChainProvider, CredentialsError, CredentialsFuture,
    EnvironmentProvider, ProvideCredentials, REFRESH_JITTER, REFRESH_MARGIN, ServiceFailure,
    StaticProvider,
};
pub use error::*;
pub use profile::{
    Profile, ProfileProvider, Profiles, default_chain, profile_name, resolve_endpoint,
    resolve_region,
};
pub use providers::{
    MfaCallback, StsAssumeRoleSessionCredentialsProvider, StsSessionCredentialsProvider,
    StsWebIdentityFederationSessionCredentialsProvider, WebIdentityProvider,
};
pub use types::*;
