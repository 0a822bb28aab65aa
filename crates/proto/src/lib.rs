//! The vocabulary Tessera shares with AWS clients: identifiers and ARNs that can only hold valid
//! values, the Query-protocol decoder, the XML encoder, and the AWS error envelope.
//!
//! Everything here is pure and synchronous; the server crate owns I/O.

pub mod access_key;
pub mod account;
pub mod arn;
pub mod error;
pub mod iam;
pub mod query;
pub mod sts;
pub mod unique_id;
pub mod validate;
pub mod xml;

pub use access_key::{AccessKeyId, KeyKind};
pub use account::AccountId;
pub use arn::Arn;
pub use error::{ApiError, ErrorCode};
pub use unique_id::{UniqueId, UniqueIdKind};

/// The base32 alphabet (RFC 4648) AWS uses for access key ids and unique ids.
pub const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The base32 character for the low five bits of `v`.
#[expect(
    clippy::indexing_slicing,
    reason = "masked to 0..32, the alphabet's length"
)]
pub(crate) fn base32_char(v: u8) -> char {
    char::from(BASE32_ALPHABET[usize::from(v & 0x1F)])
}
