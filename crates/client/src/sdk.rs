//! The `aws-sdk` feature: any of our providers as a credentials provider of the AWS SDK for
//! Rust (`aws-credential-types`), e.g. `aws_config::defaults(..).credentials_provider(..)`.

use crate::credentials::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, error::CredentialsError, future};
use std::sync::Arc;

/// Wraps one of our providers for the AWS SDK.
#[derive(Clone)]
pub struct SdkProvider(pub Arc<dyn ProvideCredentials>);

impl std::fmt::Debug for SdkProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SdkProvider")
    }
}

impl provider::ProvideCredentials for SdkProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let c = self
                .0
                .credentials()
                .await
                .map_err(|e| CredentialsError::provider_error(e.message))?;
            Ok(Credentials::new(
                c.aws_access_key_id(),
                c.aws_secret_access_key(),
                c.token().map(str::to_owned),
                c.expires_at().map(std::time::SystemTime::from),
                "tessera",
            ))
        })
    }
}
