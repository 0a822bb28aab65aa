//! AWS Signature Version 4, written once and used on both sides of the wire.
//!
//! Clients (our client crate, our tests) sign with [`sign`]; the server verifies with
//! [`verify`]. Both go through the same canonical-request and signing-key code, so a
//! disagreement between our signer and our verifier cannot hide a bug in either: the
//! known-answer vectors of AWS's own test suite pin both.
//!
//! The crate is pure: no I/O, no clock. Callers pass the time in.

mod canonical;
mod encode;
mod error;
mod key;
mod secret;
pub mod sign;
mod time;
pub mod verify;

pub use canonical::{HttpRequest, canonical_request_for_tests, payload_hash};
pub use encode::encode_component as percent_encode;
pub use error::Error;
pub use key::{Scope, SigningKey, signing_key_hex};
pub use secret::SecretKey;
pub use time::AmzDate;

/// The only algorithm name SigV4 uses; anything else in an `Authorization` header is refused.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The SHA-256 of an empty payload, used by GET and presigned requests.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
