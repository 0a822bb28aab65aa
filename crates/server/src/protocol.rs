//! The one mapping from every layer's error to the AWS error envelope (STYLE.md #4). Each
//! `match` is exhaustive with no catch-all, so a new failure reason must be given its code here.

use crate::auth::AuthError;
use crate::authorize::AuthzError;
use crate::iam::IamError;
use crate::oidc::WebIdentityError;
use crate::oidc::jwks::FetchError;
use crate::oidc::token::TokenError as IdTokenError;
use crate::ops::OpError;
use crate::tokens::{MintError, TokenError};
use tessera_proto::{ApiError, ErrorCode};
use tessera_saml::SamlError;
use tessera_sigv4::Error as SigError;

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => ApiError::new(
                ErrorCode::MissingAuthenticationToken,
                "Request is missing Authentication Token",
            ),
            AuthError::Signature(s) => {
                let code = match s {
                    SigError::UnsupportedAlgorithm(_)
                    | SigError::MalformedPair { .. }
                    | SigError::MissingParts(_)
                    | SigError::MissingQueryParts(_)
                    | SigError::CredentialParts(_)
                    | SigError::BadDate(_)
                    | SigError::BadExpires(_) => ErrorCode::IncompleteSignature,
                    SigError::WrongService(_)
                    | SigError::WrongTerminator(_)
                    | SigError::WrongRegion(_)
                    | SigError::ScopeDateMismatch { .. }
                    | SigError::Expired { .. }
                    | SigError::NotYetCurrent { .. }
                    | SigError::HostNotSigned
                    | SigError::ContentHashMismatch
                    | SigError::SignatureMismatch => ErrorCode::SignatureDoesNotMatch,
                };
                ApiError::new(code, s.to_string())
            }
            AuthError::UnknownKey
            | AuthError::InactiveKey
            | AuthError::TokenWithLongTermKey
            | AuthError::MissingToken => {
                ApiError::new(ErrorCode::InvalidClientTokenId, INVALID_TOKEN)
            }
            AuthError::Token(t) => match t {
                TokenError::Malformed | TokenError::Forged | TokenError::Mismatch => {
                    ApiError::new(ErrorCode::InvalidClientTokenId, INVALID_TOKEN)
                }
                TokenError::Expired => ApiError::new(
                    ErrorCode::ExpiredToken,
                    "The security token included in the request is expired",
                ),
            },
        }
    }
}

impl From<AuthzError> for ApiError {
    fn from(e: AuthzError) -> Self {
        match e {
            AuthzError::CallerKind(_) | AuthzError::NotAuthorized { .. } => {
                ApiError::new(ErrorCode::AccessDenied, e.to_string())
            }
        }
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::WebIdentity(w) => w.into(),
            OpError::Saml(ref saml) => {
                let code = match saml {
                    SamlError::Expired => ErrorCode::ExpiredTokenException,
                    SamlError::Rejected(_) => ErrorCode::IdpRejectedClaim,
                    SamlError::Malformed(_)
                    | SamlError::Signature(_)
                    | SamlError::Encrypted
                    | SamlError::Issuer
                    | SamlError::Audience
                    | SamlError::Recipient
                    | SamlError::ProviderExpired => ErrorCode::InvalidIdentityToken,
                };
                if let SamlError::Signature(detail) = saml {
                    tracing::info!(detail = %detail, "SAML response signature refused");
                }
                ApiError::new(code, e.to_string())
            }
            OpError::SamlClaim(_) | OpError::SamlNoProvider(_) | OpError::SamlReplay => {
                ApiError::new(ErrorCode::InvalidIdentityToken, e.to_string())
            }
            OpError::MfaDeviceUnknown
            | OpError::MfaCodeInvalid
            | OpError::NotAuthorized { .. }
            | OpError::FederationDenied(_)
            | OpError::SourceIdentityChange => {
                ApiError::new(ErrorCode::AccessDenied, e.to_string())
            }
            OpError::Invalid(_) => ApiError::new(ErrorCode::ValidationError, e.to_string()),
            OpError::SessionPolicy(_) => {
                ApiError::new(ErrorCode::MalformedPolicyDocument, e.to_string())
            }
            OpError::InvalidAccessKeyId(_) => {
                ApiError::new(ErrorCode::ValidationError, e.to_string())
            }
            OpError::Mint(MintError::Crypto(_) | MintError::Encode(_) | MintError::TooLarge(_))
            | OpError::Crypto(_)
            | OpError::Store(_) => {
                tracing::error!(error = %e, "internal failure");
                ApiError::new(ErrorCode::InternalFailure, "An internal error occurred.")
            }
            OpError::Mint(MintError::PackedTooLarge(percent)) => ApiError::new(
                ErrorCode::PackedPolicyTooLarge,
                format!(
                    "Packed policy consumes {percent}% of allotted space, please use smaller policy."
                ),
            ),
        }
    }
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> Self {
        let code = match &e {
            IamError::NoSuchUser(_)
            | IamError::NoSuchRole(_)
            | IamError::NoSuchAccessKey(_)
            | IamError::NoSuchInlinePolicy(..)
            | IamError::NoSuchOidcProvider(_)
            | IamError::NoSuchSamlProvider(_)
            | IamError::NoSuchGroup(_)
            | IamError::NoSuchManagedPolicy(_)
            | IamError::NotAttachable(_)
            | IamError::NoSuchPolicyVersion(..)
            | IamError::NoSuchBoundary(_)
            | IamError::NoBoundary(..)
            | IamError::NoSuchMfaDevice(_)
            | IamError::MfaNotEnabled(_) => ErrorCode::NoSuchEntity,
            IamError::MfaDeviceExists | IamError::MfaDeviceInUse => ErrorCode::EntityAlreadyExists,
            IamError::InvalidAuthenticationCode => ErrorCode::InvalidAuthenticationCode,
            IamError::UserExists(_)
            | IamError::RoleExists(_)
            | IamError::OidcProviderExists(_)
            | IamError::SamlProviderExists(_)
            | IamError::GroupExists(_)
            | IamError::PolicyExists(_) => ErrorCode::EntityAlreadyExists,
            IamError::DeleteConflict(_) | IamError::Conflict(_) => ErrorCode::DeleteConflict,
            IamError::Quota(_) | IamError::InlinePolicySize { .. } | IamError::TooManyVersions => {
                ErrorCode::LimitExceeded
            }
            IamError::Unmodifiable(_) => ErrorCode::UnmodifiableEntity,
            IamError::DuplicateTagKeys
            | IamError::ReservedTagKey(_)
            | IamError::InvalidArn(_)
            | IamError::InvalidMarker
            | IamError::InvalidOidcUrl(_)
            | IamError::InvalidThumbprint(_)
            | IamError::InvalidSamlMetadata(_) => ErrorCode::InvalidInput,
            IamError::UserNameRequired => ErrorCode::ValidationError,
            IamError::Malformed(_) | IamError::InvalidPrincipal(_) => {
                ErrorCode::MalformedPolicyDocument
            }
            IamError::Store(_) | IamError::Crypto(_) | IamError::Publish(_) | IamError::Qr(_) => {
                tracing::error!(error = %e, "internal failure");
                return ApiError::new(ErrorCode::InternalFailure, "An internal error occurred.");
            }
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<WebIdentityError> for ApiError {
    fn from(e: WebIdentityError) -> Self {
        let code = match &e {
            WebIdentityError::Token(IdTokenError::Expired { .. } | IdTokenError::TooOld(_)) => {
                ErrorCode::ExpiredTokenException
            }
            WebIdentityError::Token(
                IdTokenError::NotJwt
                | IdTokenError::Algorithm(_)
                | IdTokenError::MissingClaim(_)
                | IdTokenError::NoKey
                | IdTokenError::Signature
                | IdTokenError::NotYetValid(_)
                | IdTokenError::IssuedInFuture(_)
                | IdTokenError::Audience
                | IdTokenError::Tags(_)
                | IdTokenError::SourceIdentity(_),
            )
            | WebIdentityError::NoProvider(_)
            | WebIdentityError::ProviderId(_) => ErrorCode::InvalidIdentityToken,
            WebIdentityError::Keys(FetchError::Unreachable(_)) => ErrorCode::IdpCommunicationError,
            WebIdentityError::Keys(FetchError::Unusable(detail)) => {
                // The detail helps the operator; the client gets AWS's fixed message.
                tracing::warn!(%detail, "identity provider keys unusable");
                return ApiError::new(
                    ErrorCode::InvalidIdentityToken,
                    IdTokenError::NoKey.to_string(),
                );
            }
        };
        ApiError::new(code, e.to_string())
    }
}
