//! The crypto seam: randomness and authenticated encryption. Every other module goes through
//! these few functions, so the algorithm (AES-256-GCM from aws-lc-rs) can change in one place.

use aws_lc_rs::{aead, rand};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_sigv4::SecretKey;
use zeroize::Zeroizing;

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

/// A new secret access key: 40 base64 characters from 240 random bits.
pub fn new_secret_access_key() -> Result<SecretKey, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<30>()?);
    Ok(SecretKey::new(STANDARD.encode(bytes.as_slice())))
}

const NONCE_LEN: usize = aead::NONCE_LEN;

/// A 256-bit AES-GCM key. Sealed data is `nonce ‖ ciphertext ‖ tag` with a random nonce.
pub struct AeadKey(aead::LessSafeKey);

impl AeadKey {
    /// Builds a key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let unbound =
            aead::UnboundKey::new(&aead::AES_256_GCM, bytes).map_err(|_| CryptoError::Seal)?;
        Ok(Self(aead::LessSafeKey::new(unbound)))
    }

    /// Encrypts and authenticates `plaintext`, binding `aad` (which is not stored).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + aead::AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce_bytes);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce_bytes),
                aead::Aad::from(aad),
                &mut body,
            )
            .map_err(|_| CryptoError::Seal)?;
        out.extend_from_slice(&body);
        Ok(out)
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
}
