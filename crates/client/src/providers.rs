//! Credential providers that call STS: assume a role (with MFA), a session token (with MFA),
//! web identity from a token or from the IRSA environment (the token file re-read at every
//! refresh). Put them behind [`crate::AutoRefreshingProvider`] to cache them.

use crate::client::{Sts, StsClient};
use crate::credentials::{
    AwsCredentials, CredentialsError, CredentialsFuture, ProvideCredentials, ServiceFailure,
};
use crate::profile::{resolve_endpoint, resolve_region};
use crate::types::{
    AssumeRoleRequest, AssumeRoleWithWebIdentityRequest, Credentials, GetSessionTokenRequest,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Asked for the current code of an MFA device (its serial is the argument), e.g. by prompting.
pub type MfaCallback = Arc<dyn Fn(&str) -> Result<String, CredentialsError> + Send + Sync>;

fn convert<E: crate::error::ServiceError>(
    action: &'static str,
    result: Result<Option<Credentials>, crate::error::StsError<E>>,
) -> Result<AwsCredentials, CredentialsError> {
    let creds = result
        .map_err(|e| CredentialsError {
            message: format!("{action}: {e}"),
            service: e.service_error().map(|(code, message)| ServiceFailure {
                operation: action,
                code: code.to_owned(),
                message: message.to_owned(),
            }),
        })?
        .ok_or_else(|| CredentialsError::new(format!("{action} returned no credentials")))?;
    AwsCredentials::try_from(&creds)
}

/// The serial and the code its callback gives, when MFA is configured.
fn mfa_fields(
    mfa: Option<&(String, MfaCallback)>,
) -> Result<(Option<String>, Option<String>), CredentialsError> {
    Ok(match mfa {
        Some((serial, callback)) => (Some(serial.clone()), Some(callback(serial)?)),
        None => (None, None),
    })
}

/// Credentials of a role, by `AssumeRole` with the client's own credentials.
pub struct StsAssumeRoleSessionCredentialsProvider {
    client: StsClient,
    role_arn: String,
    session_name: String,
    /// For `sts:ExternalId` trust conditions.
    pub external_id: Option<String>,
    /// Session length; the role's default (1 h) when `None`.
    pub duration_seconds: Option<i64>,
    /// An inline session policy narrowing the role.
    pub scope_down_policy: Option<String>,
    mfa: Option<(String, MfaCallback)>,
}

impl StsAssumeRoleSessionCredentialsProvider {
    /// Assumes `role_arn` as `session_name`.
    pub fn new(client: StsClient, role_arn: String, session_name: String) -> Self {
        Self {
            client,
            role_arn,
            session_name,
            external_id: None,
            duration_seconds: None,
            scope_down_policy: None,
            mfa: None,
        }
    }

    /// Sends `serial` and the code `callback` returns with every `AssumeRole`.
    pub fn with_mfa(mut self, serial: String, callback: MfaCallback) -> Self {
        self.mfa = Some((serial, callback));
        self
    }
}

impl ProvideCredentials for StsAssumeRoleSessionCredentialsProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            let (serial_number, token_code) = mfa_fields(self.mfa.as_ref())?;
            let out = self
                .client
                .assume_role(AssumeRoleRequest {
                    role_arn: self.role_arn.clone(),
                    role_session_name: self.session_name.clone(),
                    external_id: self.external_id.clone(),
                    duration_seconds: self.duration_seconds,
                    policy: self.scope_down_policy.clone(),
                    serial_number,
                    token_code,
                    ..Default::default()
                })
                .await;
            convert("AssumeRole", out.map(|o| o.credentials))
        })
    }
}

/// A session of the client's own long-term credentials, by `GetSessionToken` (with MFA).
pub struct StsSessionCredentialsProvider {
    client: StsClient,
    /// Session length; 12 h when `None`.
    pub duration_seconds: Option<i64>,
    mfa: Option<(String, MfaCallback)>,
}

impl StsSessionCredentialsProvider {
    /// Sessions of `client`'s credentials.
    pub fn new(client: StsClient) -> Self {
        Self {
            client,
            duration_seconds: None,
            mfa: None,
        }
    }

    /// Sends `serial` and the code `callback` returns with every `GetSessionToken`.
    pub fn with_mfa(mut self, serial: String, callback: MfaCallback) -> Self {
        self.mfa = Some((serial, callback));
        self
    }
}

impl ProvideCredentials for StsSessionCredentialsProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            let (serial_number, token_code) = mfa_fields(self.mfa.as_ref())?;
            let out = self
                .client
                .get_session_token(GetSessionTokenRequest {
                    duration_seconds: self.duration_seconds,
                    serial_number,
                    token_code,
                })
                .await;
            convert("GetSessionToken", out.map(|o| o.credentials))
        })
    }
}

/// Where a web identity token comes from.
#[derive(Clone, Debug)]
enum TokenSource {
    Fixed(String),
    /// Re-read at every refresh, as Kubernetes rotates projected tokens.
    File(PathBuf),
}

/// Credentials of a role, by `AssumeRoleWithWebIdentity` (unsigned).
pub struct StsWebIdentityFederationSessionCredentialsProvider {
    client: StsClient,
    token: TokenSource,
    role_arn: String,
    session_name: String,
    /// Session length; 1 h when `None`.
    pub duration_seconds: Option<i64>,
    /// An inline session policy narrowing the role.
    pub policy: Option<String>,
}

impl StsWebIdentityFederationSessionCredentialsProvider {
    /// Exchanges a fixed `token` for sessions of `role_arn`.
    pub fn new(client: StsClient, token: String, role_arn: String, session_name: String) -> Self {
        Self {
            client,
            token: TokenSource::Fixed(token),
            role_arn,
            session_name,
            duration_seconds: None,
            policy: None,
        }
    }
}

impl ProvideCredentials for StsWebIdentityFederationSessionCredentialsProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            let token = match &self.token {
                TokenSource::Fixed(t) => t.clone(),
                TokenSource::File(path) => tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| {
                        CredentialsError::new(format!(
                            "web identity token file {}: {e}",
                            path.display()
                        ))
                    })?
                    .trim()
                    .to_owned(),
            };
            let out = self
                .client
                .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest {
                    role_arn: self.role_arn.clone(),
                    role_session_name: self.session_name.clone(),
                    web_identity_token: token,
                    duration_seconds: self.duration_seconds,
                    policy: self.policy.clone(),
                    ..Default::default()
                })
                .await;
            convert("AssumeRoleWithWebIdentity", out.map(|o| o.credentials))
        })
    }
}

/// Web identity from a token file: the IRSA / Pod Identity convention.
pub type WebIdentityProvider = StsWebIdentityFederationSessionCredentialsProvider;

impl StsWebIdentityFederationSessionCredentialsProvider {
    /// Exchanges the token in `file` (re-read at every call) for sessions of `role_arn`.
    pub fn from_file(
        client: StsClient,
        file: PathBuf,
        role_arn: String,
        session_name: String,
    ) -> Self {
        Self {
            token: TokenSource::File(file),
            ..Self::new(client, String::new(), role_arn, session_name)
        }
    }

    /// From `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME`; the
    /// endpoint from `endpoint`, `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL`, else AWS's for
    /// `AWS_REGION`. `None` when the two required variables are not set.
    pub fn from_k8s_env(endpoint: Option<&str>) -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let file = var("AWS_WEB_IDENTITY_TOKEN_FILE")?;
        let role_arn = var("AWS_ROLE_ARN")?;
        let session = var("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| {
            format!(
                "tessera-{}",
                time::OffsetDateTime::now_utc().unix_timestamp()
            )
        });
        let region = resolve_region(None, None);
        let client = StsClient::new(
            resolve_endpoint(endpoint, None, &region),
            Arc::new(crate::credentials::StaticProvider::new("", "", None)),
        );
        Some(Self::from_file(
            client,
            PathBuf::from(file),
            role_arn,
            session,
        ))
    }
}
