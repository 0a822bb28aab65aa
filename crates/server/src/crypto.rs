//! The crypto seam: randomness and authenticated encryption. Every other module goes through
//! these few functions, so the algorithm (AES-256-GCM from aws-lc-rs) can change in one place.

use aws_lc_rs::{aead, rand};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_sigv4::SecretKey;
use zeroize::{Zeroize, Zeroizing};

/// The random source or a cipher operation failed; never expected, always fatal for the request.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The system random source failed.
    #[error("the random number generator failed")]
    Random,
    /// Sealing failed (should not happen with a valid key).
    #[error("sealing failed")]
    Seal,
    /// The ciphertext was not produced by this key with this associated data, or was altered.
    #[error("authentication of sealed data failed")]
    Open,
}

/// `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// How many random bits a secret access key is made of (240, as 40 base64 characters).
const SECRET_RANDOM_LEN: usize = 30;

fn secret_from(bytes: &[u8]) -> SecretKey {
    SecretKey::new(STANDARD.encode(bytes))
}

/// A new secret access key: 40 base64 characters from 240 random bits.
pub fn new_secret_access_key() -> Result<SecretKey, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<SECRET_RANDOM_LEN>()?);
    Ok(secret_from(bytes.as_slice()))
}

const NONCE_LEN: usize = aead::NONCE_LEN;

/// A nonce for one AES-GCM seal. It can only be drawn fresh from the CSPRNG and is consumed by
/// the seal that uses it, so no code path can seal twice under one nonce.
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A nonce of 96 random bits.
    pub fn fresh() -> Result<Self, CryptoError> {
        random_bytes().map(Self)
    }
}

/// The random material of one new session: access key id bits, secret key and the token's
/// nonce. Drawn in one call because each call to the CSPRNG pays a hardware entropy read
/// (prediction resistance), which was the largest single cost of a mint.
pub struct SessionRandom {
    /// The unpredictable bits of the access key id.
    pub key_id: [u8; 5],
    /// The secret access key.
    pub secret: SecretKey,
    /// The nonce sealing the session token.
    pub nonce: Nonce,
}

impl SessionRandom {
    /// Draws everything a mint needs at once.
    pub fn draw() -> Result<Self, CryptoError> {
        let all = Zeroizing::new(random_bytes::<{ 5 + SECRET_RANDOM_LEN + NONCE_LEN }>()?);
        let (key_id, rest) = all.split_at(5);
        let (secret, nonce) = rest.split_at(SECRET_RANDOM_LEN);
        Ok(Self {
            key_id: key_id.try_into().map_err(|_| CryptoError::Random)?,
            secret: secret_from(secret),
            nonce: Nonce(nonce.try_into().map_err(|_| CryptoError::Random)?),
        })
    }
}

/// A 256-bit AES-GCM key. Sealed data is `nonce ‖ ciphertext ‖ tag` with a random nonce.
pub struct AeadKey(aead::LessSafeKey);

impl AeadKey {
    /// Builds a key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let unbound =
            aead::UnboundKey::new(&aead::AES_256_GCM, bytes).map_err(|_| CryptoError::Seal)?;
        Ok(Self(aead::LessSafeKey::new(unbound)))
    }

    /// Encrypts and authenticates `plaintext` under a fresh nonce, binding `aad` (which is
    /// not stored).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        self.seal_into(Nonce::fresh()?, aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Appends `nonce ‖ ciphertext ‖ tag` to `out`, so a caller framing the result (a token
    /// header before it) needs no second buffer.
    pub fn seal_into(
        &self,
        nonce: Nonce,
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let framed = out.len();
        out.reserve(NONCE_LEN + plaintext.len() + aead::AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce.0);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let sealed = out
            .get_mut(start..)
            .ok_or(CryptoError::Seal)
            .and_then(|body| {
                self.0
                    .seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(nonce.0),
                        aead::Aad::from(aad),
                        body,
                    )
                    .map_err(|_| CryptoError::Seal)
            });
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(tag.as_ref());
                Ok(())
            }
            Err(e) => {
                // The plaintext was copied in to be encrypted in place: never leave it behind.
                if let Some(tail) = out.get_mut(framed..) {
                    tail.zeroize();
                }
                out.truncate(framed);
                Err(e)
            }
        }
    }

    /// Reverses [`AeadKey::seal`]; fails unless the data and `aad` are exactly what was sealed.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (nonce, body) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(CryptoError::Open)?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = self
            .0
            .open_in_place(nonce, aead::Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| CryptoError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let key = AeadKey::new(&[7; 32]).unwrap();
        let sealed = key.seal(b"aad", b"hello").unwrap();
        assert_eq!(key.open(b"aad", &sealed).unwrap().as_slice(), b"hello");
        assert!(key.open(b"other", &sealed).is_err(), "aad is bound");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(key.open(b"aad", &flipped).is_err(), "tag is checked");
        assert!(
            AeadKey::new(&[8; 32])
                .unwrap()
                .open(b"aad", &sealed)
                .is_err(),
            "key is checked"
        );
        assert!(
            key.open(b"aad", &sealed[..5]).is_err(),
            "short input is refused"
        );
    }

    #[test]
    fn secrets_have_aws_shape() {
        let s = new_secret_access_key().unwrap();
        assert_eq!(s.expose().len(), 40);
        assert!(
            s.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
        );
        assert_ne!(s, new_secret_access_key().unwrap());
    }

    #[test]
    fn one_draw_gives_independent_session_material() {
        let a = SessionRandom::draw().unwrap();
        let b = SessionRandom::draw().unwrap();
        assert_eq!(a.secret.expose().len(), 40);
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.key_id, b.key_id);
        assert_ne!(a.nonce.0, b.nonce.0);
        let key = AeadKey::new(&[7; 32]).unwrap();
        let mut framed = b"head".to_vec();
        key.seal_into(a.nonce, b"aad", b"hello", &mut framed)
            .unwrap();
        let sealed = framed.split_off(4);
        assert_eq!(framed, b"head");
        assert_eq!(key.open(b"aad", &sealed).unwrap().as_slice(), b"hello");
    }
}
