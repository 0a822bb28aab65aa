//! The AWS error envelope and the one table that maps every error code to its HTTP status.

use crate::xml::XmlWriter;

/// Every error code Tessera sends. The HTTP status and `Type` of each live in [`ErrorCode::status`]
/// and nowhere else, so a new failure cannot reach the wire with a guessed status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No signature on an operation that needs one.
    MissingAuthenticationToken,
    /// Signature syntax incomplete or an unsupported algorithm.
    IncompleteSignature,
    /// Unknown, inactive or deleted access key; bad or mismatched session token.
    InvalidClientTokenId,
    /// Signature mismatch, wrong scope, or outside the clock-skew window.
    SignatureDoesNotMatch,
    /// The caller's temporary credentials have expired.
    ExpiredToken,
    /// Authenticated but not allowed.
    AccessDenied,
    /// A parameter violates a model constraint or a semantic rule.
    ValidationError,
    /// `Action` or `Version` is not one we serve.
    InvalidAction,
    /// No `Action`.
    MissingAction,
    /// The query string or form body cannot be decoded.
    MalformedQueryString,
    /// The body is larger than the configured limit.
    RequestEntityTooLarge,
    /// An action of the API that this server does not implement yet.
    NotImplemented,
    /// IAM: the named entity does not exist.
    NoSuchEntity,
    /// IAM: the name is taken (case-insensitively).
    EntityAlreadyExists,
    /// IAM: a quota would be exceeded.
    LimitExceeded,
    /// A policy document is not valid policy grammar.
    MalformedPolicyDocument,
    /// IAM: the entity still has dependents.
    DeleteConflict,
    /// IAM: a semantic input error (duplicate tag keys, reserved prefixes, …).
    InvalidInput,
    /// IAM: the entity is AWS managed and cannot be changed.
    UnmodifiableEntity,
    /// IAM: the MFA codes given to enable or resync a device are wrong.
    InvalidAuthenticationCode,
    /// STS: session policies and tags do not fit in a session token.
    PackedPolicyTooLarge,
    /// A bug or an unavailable dependency on our side.
    InternalFailure,
    /// The server is shutting down or overloaded.
    ServiceUnavailable,
    /// STS: the web identity token is not acceptable (format, signature, issuer, audience, claims).
    InvalidIdentityToken,
    /// STS: the web identity token has expired (or was issued too long ago).
    ExpiredTokenException,
    /// STS: the identity provider could not be reached (discovery or JWKS).
    IdpCommunicationError,
    /// STS: the identity provider rejected the claim.
    IdpRejectedClaim,
}

/// Who is at fault, as the envelope's `Type` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The client (4xx).
    Sender,
    /// The server (5xx).
    Receiver,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::ExpiredToken => "ExpiredToken",
            Self::AccessDenied => "AccessDenied",
            Self::ValidationError => "ValidationError",
            Self::InvalidAction => "InvalidAction",
            Self::MissingAction => "MissingAction",
            Self::MalformedQueryString => "MalformedQueryString",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::NotImplemented => "NotImplemented",
            Self::NoSuchEntity => "NoSuchEntity",
            Self::EntityAlreadyExists => "EntityAlreadyExists",
            Self::LimitExceeded => "LimitExceeded",
            Self::MalformedPolicyDocument => "MalformedPolicyDocument",
            Self::DeleteConflict => "DeleteConflict",
            Self::InvalidInput => "InvalidInput",
            Self::UnmodifiableEntity => "UnmodifiableEntity",
            Self::InvalidAuthenticationCode => "InvalidAuthenticationCode",
            Self::PackedPolicyTooLarge => "PackedPolicyTooLarge",
            Self::InternalFailure => "InternalFailure",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InvalidIdentityToken => "InvalidIdentityToken",
            Self::ExpiredTokenException => "ExpiredTokenException",
            Self::IdpCommunicationError => "IDPCommunicationError",
            Self::IdpRejectedClaim => "IDPRejectedClaim",
        }
    }

    /// The HTTP status AWS uses for the code.
    pub fn status(self) -> u16 {
        match self {
            Self::MissingAuthenticationToken
            | Self::InvalidClientTokenId
            | Self::SignatureDoesNotMatch
            | Self::ExpiredToken
            | Self::AccessDenied
            | Self::InvalidAuthenticationCode
            | Self::IdpRejectedClaim => 403,
            Self::IncompleteSignature
            | Self::ValidationError
            | Self::InvalidAction
            | Self::MissingAction
            | Self::MalformedPolicyDocument
            | Self::InvalidInput
            | Self::UnmodifiableEntity
            | Self::PackedPolicyTooLarge
            | Self::InvalidIdentityToken
            | Self::ExpiredTokenException
            | Self::IdpCommunicationError => 400,
            Self::NoSuchEntity => 404,
            Self::EntityAlreadyExists | Self::LimitExceeded | Self::DeleteConflict => 409,
            Self::MalformedQueryString => 404,
            Self::RequestEntityTooLarge => 413,
            Self::NotImplemented => 501,
            Self::InternalFailure => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// `Sender` for 4xx, `Receiver` for 5xx.
    pub fn fault(self) -> Fault {
        if self.status() >= 500 {
            Fault::Receiver
        } else {
            Fault::Sender
        }
    }
}

/// An error on its way to the client: a code and a message. Every layer's error converts into
/// this once, with an exhaustive match, at the protocol boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// What went wrong, in AWS's vocabulary.
    pub code: ErrorCode,
    /// The human-readable message, in AWS's wording where AWS has one.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `<ErrorResponse>` document, in the namespace of the API that was called.
    pub fn to_xml(&self, namespace: &str, request_id: &str) -> String {
        let fault = match self.code.fault() {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        };
        let mut w = XmlWriter::new();
        w.open_with_namespace("ErrorResponse", namespace);
        w.open("Error");
        w.text_element("Type", fault);
        w.text_element("Code", self.code.as_str());
        w.text_element("Message", &self.message);
        w.close("Error");
        w.text_element("RequestId", request_id);
        w.close("ErrorResponse");
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_aws_shape() {
        let e = ApiError::new(ErrorCode::ValidationError, "a < b & c");
        assert_eq!(
            e.to_xml("https://sts.amazonaws.com/doc/2011-06-15/", "rid"),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>a &lt; b &amp; c</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn server_faults_are_receiver() {
        assert_eq!(ErrorCode::InternalFailure.fault(), Fault::Receiver);
        assert_eq!(ErrorCode::ExpiredToken.status(), 403);
        assert_eq!(ErrorCode::MalformedQueryString.status(), 404);
    }
}
