/// Why a request's signature was not accepted. One variant per reason, so that callers map each
/// to AWS's exact error code and tests can assert the reason, not just "failed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The `Authorization` header names an algorithm other than `AWS4-HMAC-SHA256`.
    #[error("Unsupported AWS 'algorithm': '{0}'")]
    UnsupportedAlgorithm(String),
    /// An item of the `Authorization` header is not `name=value`.
    #[error(
        "'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
    )]
    MalformedPair {
        /// The offending item.
        item: String,
        /// The whole header.
        header: String,
    },
    /// Required parts of the `Authorization` header (or the date headers) are missing; the
    /// message lists every missing part at once, as AWS does.
    #[error("{0}")]
    MissingParts(String),
    /// Presigned-query parameters are missing.
    #[error(
        "AWS query-string parameters must include {0}. Re-examine the query-string parameters."
    )]
    MissingQueryParts(String),
    /// The credential does not have the five slash-separated parts.
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{0}'"
    )]
    CredentialParts(String),
    /// `X-Amz-Date` (or `Date`) does not parse.
    #[error(
        "Date must be in ISO-8601 'basic format'. Got '{0}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )]
    BadDate(String),
    /// `X-Amz-Expires` is not an integer in 1..=604800.
    #[error("X-Amz-Expires must be an integer between 1 and 604800, got '{0}'")]
    BadExpires(String),
    /// The scope names another service.
    #[error("Credential should be scoped to correct service: '{0}'. ")]
    WrongService(String),
    /// The scope terminator is not `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{0}'. ")]
    WrongTerminator(String),
    /// The scope names a region this endpoint does not serve.
    #[error("Credential should be scoped to a valid region, not '{0}'. ")]
    WrongRegion(String),
    /// The scope date differs from the request date.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{date}', from '{amz_date}'."
    )]
    ScopeDateMismatch {
        /// Date in the scope.
        scope: String,
        /// Date part of the request time.
        date: String,
        /// The request time.
        amz_date: String,
    },
    /// The request time is older than the skew window allows.
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - {minutes} min.)")]
    Expired {
        /// Request time.
        request: String,
        /// Earliest accepted time.
        earliest: String,
        /// Server time.
        now: String,
        /// Window, in minutes.
        minutes: i64,
    },
    /// The request time is further in the future than the skew window allows.
    #[error(
        "Signature not yet current: {request} is still later than {latest} ({now} + {minutes} min.)"
    )]
    NotYetCurrent {
        /// Request time.
        request: String,
        /// Latest accepted time.
        latest: String,
        /// Server time.
        now: String,
        /// Window, in minutes.
        minutes: i64,
    },
    /// `host` is not among the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// A signed `x-amz-content-sha256` disagrees with the body.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentHashMismatch,
    /// The signature does not match the one we computed.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
}
