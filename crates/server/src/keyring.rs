//! The master key and the key ring that seals session tokens.
//!
//! Ring keys are stored only sealed under the master key. The newest active key seals new
//! tokens; a key demoted by a rotation keeps opening tokens until every token it could have
//! sealed has expired ([`VERIFY_GRACE_SECS`]), then it is ignored.

use crate::crypto::{AeadKey, CryptoError, Nonce, random_bytes};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// The longest a session can live (36 h) plus the clock-skew window: how long a demoted key
/// must keep verifying.
pub const VERIFY_GRACE_SECS: i64 = 129_600 + 15 * 60;

/// Why the master key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// `TESSERA_MASTER_KEY` or the key file does not hold base64 of exactly 32 bytes.
    #[error("the master key must be base64 of exactly 32 bytes ({0})")]
    Format(&'static str),
    /// The key file could not be read or created.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The random source failed while creating a key.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// The key that seals everything secret in the store (ring keys, access key secrets).
pub struct MasterKey(AeadKey);

fn decode_key(text: &str, origin: &'static str) -> Result<AeadKey, MasterKeyError> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Format(origin))?,
    );
    let array: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| MasterKeyError::Format(origin))?;
    Ok(AeadKey::new(array)?)
}

impl MasterKey {
    /// Takes the key from `env_value` (the `TESSERA_MASTER_KEY` variable) if set, else from
    /// `file`, creating the file (mode 0600) with a fresh key on first start.
    pub fn load_or_create(env_value: Option<&str>, file: &Path) -> Result<Self, MasterKeyError> {
        if let Some(text) = env_value {
            return Ok(Self(decode_key(text, "TESSERA_MASTER_KEY")?));
        }
        let io = |source| MasterKeyError::Io {
            path: file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(file) {
            Ok(text) => Ok(Self(decode_key(&Zeroizing::new(text), "master key file")?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = Zeroizing::new(random_bytes::<32>()?);
                let text = Zeroizing::new(STANDARD.encode(bytes.as_slice()));
                let mut f = private_file(file).map_err(io)?;
                f.write_all(text.as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Self(AeadKey::new(&bytes)?))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals a secret for storage, bound to `label` (e.g. the access key id it belongs to).
    pub fn seal(&self, label: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.seal(label.as_bytes(), secret)
    }

    /// Opens what [`MasterKey::seal`] sealed with the same label.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.0.open(label.as_bytes(), sealed)
    }
}

/// Creates a new file readable and writable by its owner only; fails if it exists.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A ring key as the store keeps it.
#[derive(Clone, Debug)]
pub struct StoredRingKey {
    /// Its id, carried in clear in every token it seals.
    pub id: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds at which a rotation demoted it; `None` while it is the active key.
    pub demoted_at: Option<i64>,
    /// The key bytes sealed under the master key.
    pub sealed: Vec<u8>,
}

fn ring_label(id: u32) -> String {
    format!("tessera ring key {id}")
}

/// Makes a new ring key, sealed for storage.
pub fn new_ring_key(master: &MasterKey, id: u32, now: i64) -> Result<StoredRingKey, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    Ok(StoredRingKey {
        id,
        created_at: now,
        demoted_at: None,
        sealed: master.seal(&ring_label(id), bytes.as_slice())?,
    })
}

struct RingKey {
    id: u32,
    key: AeadKey,
}

/// The ring keys in use: one to seal with, all that may still open.
pub struct KeyRing {
    sealing: RingKey,
    verifying: Vec<RingKey>,
}

/// The ring cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// No active key: the store was not initialised.
    #[error("the key ring has no active key")]
    NoActiveKey,
    /// A ring key did not open under the master key: wrong master key, or a damaged store.
    #[error(
        "ring key {0} does not open with this master key (is TESSERA_MASTER_KEY the one this data directory was created with?)"
    )]
    WrongMasterKey(u32),
    /// A cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl KeyRing {
    /// Opens the stored keys that are still useful at `now`.
    pub fn load(
        master: &MasterKey,
        stored: &[StoredRingKey],
        now: i64,
    ) -> Result<Self, KeyRingError> {
        let mut sealing: Option<RingKey> = None;
        let mut verifying = Vec::new();
        for s in stored {
            if s.demoted_at.is_some_and(|d| d + VERIFY_GRACE_SECS < now) {
                continue;
            }
            let bytes = master
                .open(&ring_label(s.id), &s.sealed)
                .map_err(|_| KeyRingError::WrongMasterKey(s.id))?;
            let array: &[u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyRingError::WrongMasterKey(s.id))?;
            let key = RingKey {
                id: s.id,
                key: AeadKey::new(array)?,
            };
            let newer = sealing.as_ref().is_none_or(|cur| cur.id < s.id);
            if s.demoted_at.is_none() && newer {
                if let Some(previous) = sealing.replace(key) {
                    verifying.push(previous);
                }
            } else {
                verifying.push(key);
            }
        }
        Ok(Self {
            sealing: sealing.ok_or(KeyRingError::NoActiveKey)?,
            verifying,
        })
    }

    /// The id of the key new tokens are sealed with.
    pub fn sealing_id(&self) -> u32 {
        self.sealing.id
    }

    /// Seals with the active key, appending `nonce ‖ ciphertext ‖ tag` to `out`.
    pub fn seal_into(
        &self,
        nonce: Nonce,
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.sealing.key.seal_into(nonce, aad, plaintext, out)
    }

    /// Opens with the key named `id`, if the ring still has it.
    pub fn open(&self, id: u32, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        std::iter::once(&self.sealing)
            .chain(self.verifying.iter())
            .find(|k| k.id == id)
            .and_then(|k| k.key.open(aad, sealed).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey(AeadKey::new(&[1; 32]).unwrap())
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(None, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let sealed = first.seal("l", b"s").unwrap();
        let again = MasterKey::load_or_create(None, &path).unwrap();
        assert_eq!(again.open("l", &sealed).unwrap().as_slice(), b"s");
        assert!(again.open("other", &sealed).is_err());
    }

    #[test]
    fn master_key_from_env_must_be_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unused");
        assert!(MasterKey::load_or_create(Some(&STANDARD.encode([0u8; 32])), &path).is_ok());
        for bad in ["", "not base64!", &STANDARD.encode([0u8; 31])] {
            assert!(
                matches!(
                    MasterKey::load_or_create(Some(bad), &path),
                    Err(MasterKeyError::Format(_))
                ),
                "{bad}"
            );
        }
        assert!(!path.exists(), "an env key never writes a file");
    }

    #[test]
    fn rotation_keeps_old_keys_verifying_until_the_grace_ends() {
        let m = master();
        let mut k1 = new_ring_key(&m, 1, 0).unwrap();
        let k2 = new_ring_key(&m, 2, 100).unwrap();
        let ring1 = KeyRing::load(&m, std::slice::from_ref(&k1), 50).unwrap();
        let mut sealed = Vec::new();
        ring1
            .seal_into(Nonce::fresh().unwrap(), b"a", b"t", &mut sealed)
            .unwrap();
        k1.demoted_at = Some(100);
        let stored = [k1, k2];
        let ring2 = KeyRing::load(&m, &stored, 200).unwrap();
        assert_eq!(ring2.sealing_id(), 2);
        assert_eq!(ring2.open(1, b"a", &sealed).unwrap().as_slice(), b"t");
        let later = KeyRing::load(&m, &stored, 100 + VERIFY_GRACE_SECS + 1).unwrap();
        assert!(
            later.open(1, b"a", &sealed).is_none(),
            "retired after the grace period"
        );
    }

    #[test]
    fn a_wrong_master_key_is_reported() {
        let k = new_ring_key(&master(), 1, 0).unwrap();
        let other = MasterKey(AeadKey::new(&[2; 32]).unwrap());
        assert!(matches!(
            KeyRing::load(&other, &[k], 0),
            Err(KeyRingError::WrongMasterKey(1))
        ));
        assert!(matches!(
            KeyRing::load(&master(), &[], 0),
            Err(KeyRingError::NoActiveKey)
        ));
    }
}
