//! Session tokens (DESIGN.md §4): `base64(version ‖ ring key id ‖ nonce ‖ AEAD(claims))`.
//!
//! The token carries everything needed to authenticate a request made with it, including the
//! temporary secret, so any node holding the key ring verifies it without a lookup. Policies of
//! the principal are *not* in the token: they are read from the current snapshot at use time.

use crate::crypto::{CryptoError, Nonce};
use crate::keyring::KeyRing;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use tessera_proto::sts::SessionToken;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The token format version, first byte of every token.
const VERSION: u8 = 1;
/// AWS's documented cap, which downstream tools assume.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// The budget for the packed section (session policies and tags, compressed); `PackedPolicySize`
/// is reported as a percentage of it.
pub const PACKED_LIMIT_BYTES: usize = 2048;

/// Who a session acts as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionPrincipal {
    /// An IAM user, by unique id (so a deleted and re-created user with the same name is a
    /// different principal).
    User {
        /// `AIDA…`.
        unique_id: String,
    },
    /// The account root.
    Root,
    /// A federated user (GetFederationToken), by the unique id of the IAM user who federated
    /// (`None` for the account root).
    FederatedUser {
        /// The federating user's `AIDA…`, if not the root.
        parent: Option<String>,
        /// The federated user's name.
        name: String,
    },
    /// A role session, by the role's unique id (a deleted and re-created role does not revive
    /// old sessions).
    Role {
        /// `AROA…`.
        unique_id: String,
        /// The `RoleSessionName`.
        session_name: String,
    },
}

/// The action that issued a session; it decides what the session may call (spec §2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// `GetSessionToken`.
    GetSessionToken,
    /// `AssumeRole`.
    AssumeRole,
    /// `GetFederationToken`.
    GetFederationToken,
    /// `AssumeRoleWithWebIdentity`.
    AssumeRoleWithWebIdentity,
    /// `AssumeRoleWithSAML`.
    AssumeRoleWithSaml,
}

/// What a session started by federation carries of its identity provider into later requests
/// (spec §3.0.10): `aws:FederatedProvider` and the provider's condition keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Federated {
    /// The provider's ARN.
    pub provider: String,
    /// Provider condition keys (`<issuer>:sub`, `<issuer>:aud`, …) and their values.
    pub keys: Vec<(String, Vec<String>)>,
}

/// Session policies and tags, compressed together inside the token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedSession {
    /// The inline session policy.
    pub policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
    /// Session tags `(key, value, transitive)`.
    pub tags: Vec<(String, String, bool)>,
}

/// The sealed claims of a session. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct SessionClaims {
    /// The `ASIA…` id the token is bound to.
    pub access_key_id: String,
    /// The temporary secret.
    pub secret: String,
    /// The account of the principal.
    #[zeroize(skip)]
    pub account: u64,
    /// Who the session acts as.
    #[zeroize(skip)]
    pub principal: SessionPrincipal,
    /// What issued it.
    #[zeroize(skip)]
    pub origin: Origin,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds of the MFA authentication, if any.
    pub mfa_authenticated_at: Option<i64>,
    /// The source identity, sticky across role chaining.
    pub source_identity: Option<String>,
    /// Whether the session came from role chaining.
    #[zeroize(skip)]
    pub chained: bool,
    /// The long-term key at the root of the session's chain: deactivating or deleting it ends
    /// the session at once.
    pub parent_key: Option<String>,
    /// The identity provider of a federated session.
    #[zeroize(skip)]
    pub federated: Option<Box<Federated>>,
    /// The packed section, deflated; empty when there is nothing to pack.
    pub packed: Vec<u8>,
}

impl std::fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionClaims")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"<redacted>")
            .field("account", &self.account)
            .field("principal", &self.principal)
            .field("origin", &self.origin)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("chained", &self.chained)
            .finish_non_exhaustive()
    }
}

/// Why a token was not accepted. Mapped to `InvalidClientTokenId`, except `Expired`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not base64, too short, or an unknown version.
    #[error("malformed session token")]
    Malformed,
    /// Sealed by a key the ring no longer (or never) had, or altered.
    #[error("session token does not authenticate")]
    Forged,
    /// Authentic, but issued with another access key id.
    #[error("session token belongs to another access key")]
    Mismatch,
    /// Authentic and bound, but past its expiry.
    #[error("session token expired")]
    Expired,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The packed section (policies and tags) exceeds its budget; the percentage is reported.
    #[error("packed session data is {0}% of the limit")]
    PackedTooLarge(usize),
    /// The token would exceed [`MAX_TOKEN_BYTES`].
    #[error("session token would be {0} bytes")]
    TooLarge(usize),
    /// A cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Serialisation failed (a bug).
    #[error("could not encode the session: {0}")]
    Encode(String),
}

/// Compresses the packed section and reports its size as a percentage of the budget.
pub fn pack(session: &PackedSession) -> Result<(Vec<u8>, usize), MintError> {
    if *session == PackedSession::default() {
        return Ok((Vec::new(), 0));
    }
    let raw = postcard::to_allocvec(session).map_err(|e| MintError::Encode(e.to_string()))?;
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&raw)
        .map_err(|e| MintError::Encode(e.to_string()))?;
    let packed = enc.finish().map_err(|e| MintError::Encode(e.to_string()))?;
    let percent = (packed.len() * 100).div_ceil(PACKED_LIMIT_BYTES);
    if packed.len() > PACKED_LIMIT_BYTES {
        return Err(MintError::PackedTooLarge(percent));
    }
    Ok((packed, percent))
}

/// Reverses [`pack`]. Only ever called on data from an authenticated token, so a failure is a
/// bug in our own encoder.
pub fn unpack(packed: &[u8]) -> Option<PackedSession> {
    if packed.is_empty() {
        return Some(PackedSession::default());
    }
    let mut raw = Vec::new();
    DeflateDecoder::new(packed)
        .take(64 * 1024)
        .read_to_end(&mut raw)
        .ok()?;
    postcard::from_bytes(&raw).ok()
}

fn header(key_id: u32) -> [u8; 5] {
    let id = key_id.to_be_bytes();
    [VERSION, id[0], id[1], id[2], id[3]]
}

/// Seals claims into a token with the ring's active key.
pub fn seal(
    ring: &KeyRing,
    nonce: Nonce,
    claims: &SessionClaims,
) -> Result<SessionToken, MintError> {
    // Sized exactly first: a `Vec` that grew would leave unwiped copies of the secret behind
    // in the memory it gave back at each reallocation.
    let encode = |e: postcard::Error| MintError::Encode(e.to_string());
    let size = postcard::experimental::serialized_size(claims).map_err(encode)?;
    let plain = zeroize::Zeroizing::new(
        postcard::to_extend(claims, Vec::with_capacity(size)).map_err(encode)?,
    );
    let head = header(ring.sealing_id());
    // `seal_into` reserves room for the nonce, the ciphertext and the tag itself.
    let mut bytes = head.to_vec();
    ring.seal_into(nonce, &head, &plain, &mut bytes)?;
    let token = STANDARD.encode(&bytes);
    if token.len() > MAX_TOKEN_BYTES {
        return Err(MintError::TooLarge(token.len()));
    }
    Ok(SessionToken::new(token))
}

/// Opens a token presented with `access_key_id` at time `now` (unix seconds).
pub fn open(
    ring: &KeyRing,
    token: &str,
    access_key_id: &str,
    now: i64,
) -> Result<SessionClaims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let bytes = STANDARD.decode(token).map_err(|_| TokenError::Malformed)?;
    let (head, sealed) = bytes.split_at_checked(5).ok_or(TokenError::Malformed)?;
    let [version, a, b, c, d] = <[u8; 5]>::try_from(head).map_err(|_| TokenError::Malformed)?;
    if version != VERSION {
        return Err(TokenError::Malformed);
    }
    let plain = ring
        .open(u32::from_be_bytes([a, b, c, d]), head, sealed)
        .ok_or(TokenError::Forged)?;
    let claims: SessionClaims = postcard::from_bytes(&plain).map_err(|_| TokenError::Forged)?;
    let bound = subtle_eq(claims.access_key_id.as_bytes(), access_key_id.as_bytes());
    if !bound {
        return Err(TokenError::Mismatch);
    }
    if now >= claims.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Constant-time equality of two secrets (lengths are not secret).
pub(crate) fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::{KeyRing, MasterKey, new_ring_key};

    fn ring(dir: &std::path::Path) -> (MasterKey, KeyRing) {
        let master = MasterKey::load_or_create(None, &dir.join("m")).unwrap();
        let k = new_ring_key(&master, 1, 0).unwrap();
        let ring = KeyRing::load(&master, &[k], 0).unwrap();
        (master, ring)
    }

    fn claims(packed: Vec<u8>) -> SessionClaims {
        SessionClaims {
            access_key_id: "ASIAAAAAAAAAAAAAAAAA".into(),
            secret: "s".repeat(40),
            account: 123_456_789_012,
            principal: SessionPrincipal::User {
                unique_id: "AIDAAAAAAAAAAAAAAAAAA".into(),
            },
            origin: Origin::GetSessionToken,
            issued_at: 1_000,
            expires_at: 2_000,
            mfa_authenticated_at: Some(1_000),
            source_identity: Some("alice".into()),
            chained: false,
            parent_key: Some("AKIAAAAAAAAAAAAAAAAA".into()),
            federated: None,
            packed,
        }
    }

    #[test]
    fn round_trip_and_every_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let (_, ring) = ring(dir.path());
        let c = claims(Vec::new());
        let token = seal(&ring, Nonce::fresh().unwrap(), &c).unwrap();
        assert!(token.expose().len() < 1024, "typical token under 1 KB");
        assert_eq!(
            open(&ring, token.expose(), &c.access_key_id, 1_500).unwrap(),
            c
        );
        assert_eq!(
            open(&ring, token.expose(), "ASIABBBBBBBBBBBBBBBB", 1_500),
            Err(TokenError::Mismatch)
        );
        assert_eq!(
            open(&ring, token.expose(), &c.access_key_id, 2_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            open(&ring, "!!!", &c.access_key_id, 1_500),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            open(&ring, "AAAA", &c.access_key_id, 1_500),
            Err(TokenError::Malformed)
        );
        let mut bytes = STANDARD.decode(token.expose()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            open(&ring, &STANDARD.encode(&bytes), &c.access_key_id, 1_500),
            Err(TokenError::Forged)
        );
        bytes[last] ^= 1;
        bytes[4] ^= 1; // another key id
        assert_eq!(
            open(&ring, &STANDARD.encode(&bytes), &c.access_key_id, 1_500),
            Err(TokenError::Forged)
        );
        bytes[4] ^= 1;
        bytes[0] = 9; // another version
        assert_eq!(
            open(&ring, &STANDARD.encode(&bytes), &c.access_key_id, 1_500),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = claims(Vec::new());
        let shown = format!("{c:?}");
        assert!(!shown.contains(&c.secret), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn another_ring_cannot_open() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let (_, r1) = ring(d1.path());
        let (_, r2) = ring(d2.path());
        let c = claims(Vec::new());
        let token = seal(&r1, Nonce::fresh().unwrap(), &c).unwrap();
        assert_eq!(
            open(&r2, token.expose(), &c.access_key_id, 1_500),
            Err(TokenError::Forged)
        );
    }

    /// Random, incompressible text of `n` characters from the tag alphabet.
    fn noise(n: usize, seed: u64) -> String {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(
                    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/=+-@"
                        [(x % 69) as usize],
                )
            })
            .collect()
    }

    #[test]
    fn token_stays_within_4096_bytes_at_the_packed_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (_, ring) = ring(dir.path());
        // Grow incompressible session data until the packed budget refuses it: the largest
        // accepted session still yields a token within AWS's 4096-byte cap.
        let mut largest = None;
        for n in (100..4000).step_by(50) {
            let session = PackedSession {
                policy: Some(noise(n, 7)),
                policy_arns: (0..10)
                    .map(|i| format!("arn:aws:iam::123456789012:policy/{}", noise(40, i)))
                    .collect(),
                tags: (0..10)
                    .map(|i| (noise(20, 100 + i), noise(10, i), i % 2 == 0))
                    .collect(),
            };
            match pack(&session) {
                Ok((packed, percent)) => {
                    assert!(percent <= 100);
                    largest = Some(packed);
                }
                Err(MintError::PackedTooLarge(percent)) => {
                    assert!(percent > 100);
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        let packed = largest.expect("some session fits");
        assert!(
            packed.len() > PACKED_LIMIT_BYTES - 64,
            "the search reached the limit"
        );
        let c = claims(packed);
        let token = seal(&ring, Nonce::fresh().unwrap(), &c).unwrap();
        assert!(
            token.expose().len() <= MAX_TOKEN_BYTES,
            "{}",
            token.expose().len()
        );
        let opened = open(&ring, token.expose(), &c.access_key_id, 1_500).unwrap();
        assert!(unpack(&opened.packed).is_some());
    }
}
