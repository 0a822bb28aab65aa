//! One module per STS action. Each receives an [`Authorized`] request, so none can run for a
//! caller that skipped authentication or authorization.

mod assume_role;
mod federated;
mod get_access_key_info;
mod get_caller_identity;
mod get_federation_token;
mod get_session_token;
mod saml;
mod session;
mod web_identity;

use crate::authorize::Authorized;
use crate::config::SamlConfig;
use crate::crypto::CryptoError;
use crate::keyring::KeyRing;
use crate::oidc::{Federation, WebIdentityError};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::tokens::MintError;
use tessera_proto::sts::{Request, Response, Unsigned};
use time::OffsetDateTime;

/// What actions may read.
pub struct OpContext<'a> {
    /// The identity snapshot.
    pub snapshot: &'a Snapshot,
    /// The key ring, for minting session tokens.
    pub ring: &'a KeyRing,
    /// Server time.
    pub now: OffsetDateTime,
    /// Facts about the request, for condition keys.
    pub env: &'a crate::principal::RequestEnv<'a>,
}

/// Why an action failed after authorization.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The MFA serial does not name a device of the calling user.
    #[error(
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
    )]
    MfaDeviceUnknown,
    /// The MFA code is not the device's current one.
    #[error("MultiFactorAuthentication failed with invalid MFA one time pass code.")]
    MfaCodeInvalid,
    /// The access key id cannot belong to any account.
    #[error("The access key ID '{0}' is not a valid AWS access key ID.")]
    InvalidAccessKeyId(String),
    /// Minting the session token failed.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// `AccessDenied`: the trust policy or the caller's policies do not allow assuming the role
    /// (or the role does not exist, which must look the same).
    #[error(
        "User: {caller} is not authorized to perform: {action} on resource: {resource}{reason}"
    )]
    NotAuthorized {
        /// Caller ARN.
        caller: String,
        /// `sts:AssumeRole`, `sts:TagSession`, …
        action: &'static str,
        /// The role ARN as requested.
        resource: String,
        /// `" because …"` / `" with an explicit deny …"`, or empty for trust-policy failures.
        reason: String,
    },
    /// `ValidationError` with a semantic message (durations, tags, ARNs).
    #[error("{0}")]
    Invalid(String),
    /// `MalformedPolicyDocument`: the session policy is not valid policy grammar.
    #[error(transparent)]
    SessionPolicy(#[from] tessera_policy::ParseError),
    /// `AccessDenied`: the caller's session has another source identity.
    #[error(
        "Cannot change the source identity of a session: it was set to a different value earlier in the role chain."
    )]
    SourceIdentityChange,
    /// A cipher or random failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// `AccessDenied` for a federated caller: the trust policy does not allow the provider (or
    /// the role does not exist, which must look the same).
    #[error("Not authorized to perform {0}")]
    FederationDenied(&'static str),
    /// The web identity token or its provider was refused.
    #[error(transparent)]
    WebIdentity(#[from] WebIdentityError),
    /// The SAML response was refused (its signature, shape, times, issuer or audience).
    #[error(transparent)]
    Saml(#[from] tessera_saml::SamlError),
    /// `InvalidIdentityToken`: an AWS attribute of a verified SAML response breaks a rule.
    #[error("{0}")]
    SamlClaim(String),
    /// `InvalidIdentityToken`: `PrincipalArn` names no SAML provider of the role's account.
    #[error("The SAML provider {0} does not exist.")]
    SamlNoProvider(String),
    /// `InvalidIdentityToken`: the assertion was used before.
    #[error("The SAML assertion has already been used.")]
    SamlReplay,
    /// The single-use record of an assertion could not be written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Runs an authorized request.
pub fn execute(authorized: Authorized, ctx: &OpContext<'_>) -> Result<Response, OpError> {
    let Authorized { caller, request } = authorized;
    match request {
        Request::AssumeRole(r) => assume_role::run(&caller, &r, ctx),
        Request::GetFederationToken(r) => get_federation_token::run(&caller, &r, ctx),
        Request::GetCallerIdentity => Ok(get_caller_identity::run(&caller, ctx)),
        Request::GetSessionToken(r) => get_session_token::run(&caller, &r, ctx),
        Request::GetAccessKeyInfo(r) => get_access_key_info::run(&r, ctx),
    }
}

/// What unsigned actions need beyond the snapshot: the rules and keys of federation, and the
/// store for single-use records.
pub struct Federations<'a, S> {
    /// OpenID Connect issuers' keys and rules.
    pub oidc: &'a Federation,
    /// How SAML responses are judged.
    pub saml: &'a SamlConfig,
    /// Where used SAML assertion ids are recorded.
    pub store: &'a S,
}

/// Runs an unsigned action (`AssumeRoleWithWebIdentity`, `AssumeRoleWithSAML`), whose token or
/// assertion is its credential; an issuer's keys may have to be fetched first.
pub async fn execute_unsigned<S: Store>(
    federations: &Federations<'_, S>,
    request: &Unsigned,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    match request {
        Unsigned::WebIdentity(r) => web_identity::run(federations.oidc, r, ctx).await,
        Unsigned::Saml(r) => saml::run(federations.store, federations.saml, r, ctx).await,
    }
}
