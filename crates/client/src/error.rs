//! Errors: one enum per action with its modeled errors, wrapped in [`StsError`], which adds
//! what can go wrong around any call (credentials, transport, parsing, unmodeled errors).

use std::fmt;

/// Implemented by each action's error enum: recognizes its modeled error codes.
pub trait ServiceError: Sized + fmt::Debug + fmt::Display {
    /// The modeled error for a wire code, if it is one of this action's.
    fn from_code(code: &str, message: &str) -> Option<Self>;
    /// The wire code.
    fn code(&self) -> &'static str;
    /// The server's message.
    fn message(&self) -> &str;
}

/// Any failure of a call.
#[derive(Debug, thiserror::Error)]
pub enum StsError<E> {
    /// A modeled error of the action.
    #[error("{0}")]
    Service(E),
    /// No credentials could be found or refreshed.
    #[error("credentials: {0}")]
    Credentials(crate::credentials::CredentialsError),
    /// The request could not be sent or the response not received.
    #[error("dispatch: {0}")]
    Dispatch(String),
    /// The request is invalid before it is sent.
    #[error("validation: {0}")]
    Validation(String),
    /// The response could not be understood.
    #[error("parse: {0}")]
    Parse(String),
    /// An error response that is not modeled for the action (AccessDenied, throttling, …).
    #[error("{code} ({status}): {message} [request id {request_id}]")]
    Unknown {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The error message.
        message: String,
        /// `RequestId` of the response.
        request_id: String,
    },
}

impl<E: ServiceError> StsError<E> {
    /// The wire code and message of a service error, modeled or not.
    pub fn service_error(&self) -> Option<(&str, &str)> {
        match self {
            Self::Service(e) => Some((e.code(), e.message())),
            Self::Unknown { code, message, .. } => Some((code, message)),
            Self::Credentials(_) | Self::Dispatch(_) | Self::Validation(_) | Self::Parse(_) => None,
        }
    }
}

macro_rules! action_errors {
    ($(#[$doc:meta] $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),* $(,)? })*) => {
        $(
            #[$doc]
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum $name {
                $($(#[$vdoc])* $variant(String),)*
            }

            impl ServiceError for $name {
                #[allow(unused_variables, reason = "actions without modeled errors ignore both")]
                fn from_code(code: &str, message: &str) -> Option<Self> {
                    match code {
                        $($code => Some(Self::$variant(message.to_owned())),)*
                        _ => None,
                    }
                }

                fn code(&self) -> &'static str {
                    match *self {
                        $(Self::$variant(_) => $code,)*
                    }
                }

                fn message(&self) -> &str {
                    match *self {
                        $(Self::$variant(ref m) => m,)*
                    }
                }
            }

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    write!(f, "{}: {}", self.code(), self.message())
                }
            }

            impl std::error::Error for $name {}
        )*
    };
}

action_errors! {
    /// Modeled errors of `AssumeRole`.
    AssumeRoleError {
        /// `ExpiredTokenException`.
        ExpiredToken = "ExpiredTokenException",
        /// `MalformedPolicyDocument`.
        MalformedPolicyDocument = "MalformedPolicyDocument",
        /// `PackedPolicyTooLarge`.
        PackedPolicyTooLarge = "PackedPolicyTooLarge",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `AssumeRoleWithSAML`.
    AssumeRoleWithSAMLError {
        /// `ExpiredTokenException`.
        ExpiredToken = "ExpiredTokenException",
        /// `IDPRejectedClaim`.
        IDPRejectedClaim = "IDPRejectedClaim",
        /// `InvalidIdentityToken`.
        InvalidIdentityToken = "InvalidIdentityToken",
        /// `MalformedPolicyDocument`.
        MalformedPolicyDocument = "MalformedPolicyDocument",
        /// `PackedPolicyTooLarge`.
        PackedPolicyTooLarge = "PackedPolicyTooLarge",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `AssumeRoleWithWebIdentity`.
    AssumeRoleWithWebIdentityError {
        /// `ExpiredTokenException`.
        ExpiredToken = "ExpiredTokenException",
        /// `IDPCommunicationError`.
        IDPCommunicationError = "IDPCommunicationError",
        /// `IDPRejectedClaim`.
        IDPRejectedClaim = "IDPRejectedClaim",
        /// `InvalidIdentityToken`.
        InvalidIdentityToken = "InvalidIdentityToken",
        /// `MalformedPolicyDocument`.
        MalformedPolicyDocument = "MalformedPolicyDocument",
        /// `PackedPolicyTooLarge`.
        PackedPolicyTooLarge = "PackedPolicyTooLarge",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `AssumeRoot`.
    AssumeRootError {
        /// `ExpiredTokenException`.
        ExpiredToken = "ExpiredTokenException",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `DecodeAuthorizationMessage`.
    DecodeAuthorizationMessageError {
        /// `InvalidAuthorizationMessageException`.
        InvalidAuthorizationMessage = "InvalidAuthorizationMessageException",
    }
    /// Modeled errors of `GetAccessKeyInfo` (none).
    GetAccessKeyInfoError {}
    /// Modeled errors of `GetCallerIdentity` (none).
    GetCallerIdentityError {}
    /// Modeled errors of `GetDelegatedAccessToken`.
    GetDelegatedAccessTokenError {
        /// `ExpiredTradeInTokenException`.
        ExpiredTradeInToken = "ExpiredTradeInTokenException",
        /// `PackedPolicyTooLarge`.
        PackedPolicyTooLarge = "PackedPolicyTooLarge",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `GetFederationToken`.
    GetFederationTokenError {
        /// `MalformedPolicyDocument`.
        MalformedPolicyDocument = "MalformedPolicyDocument",
        /// `PackedPolicyTooLarge`.
        PackedPolicyTooLarge = "PackedPolicyTooLarge",
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `GetSessionToken`.
    GetSessionTokenError {
        /// `RegionDisabledException`.
        RegionDisabled = "RegionDisabledException",
    }
    /// Modeled errors of `GetWebIdentityToken`.
    GetWebIdentityTokenError {
        /// `JWTPayloadSizeExceededException`.
        JWTPayloadSizeExceeded = "JWTPayloadSizeExceededException",
        /// `OutboundWebIdentityFederationDisabledException`.
        OutboundWebIdentityFederationDisabled = "OutboundWebIdentityFederationDisabledException",
        /// `SessionDurationEscalationException`.
        SessionDurationEscalation = "SessionDurationEscalationException",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modeled_codes_map_to_variants() {
        assert_eq!(
            AssumeRoleError::from_code("PackedPolicyTooLarge", "m"),
            Some(AssumeRoleError::PackedPolicyTooLarge("m".into()))
        );
        assert_eq!(AssumeRoleError::from_code("AccessDenied", "m"), None);
        assert_eq!(GetCallerIdentityError::from_code("AccessDenied", "m"), None);
        let e: StsError<AssumeRoleError> =
            StsError::Service(AssumeRoleError::RegionDisabled("x".into()));
        assert_eq!(e.service_error(), Some(("RegionDisabledException", "x")));
        assert_eq!(e.to_string(), "RegionDisabledException: x");
    }
}
