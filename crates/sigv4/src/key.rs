use crate::{ALGORITHM, AmzDate, SecretKey};
use aws_lc_rs::{digest, hmac};
use std::borrow::Cow;
use std::fmt;

/// The credential scope `<date>/<region>/<service>/aws4_request`. A verifier borrows its parts
/// from the request; a kept [`SigningKey`] owns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `yyyymmdd`.
    pub date: Cow<'a, str>,
    /// The region the client signed for.
    pub region: Cow<'a, str>,
    /// The service the client signed for (`sts`, `iam`, …).
    pub service: Cow<'a, str>,
}

impl Scope<'_> {
    /// The same scope, owning its parts.
    pub fn into_owned(self) -> Scope<'static> {
        Scope {
            date: Cow::Owned(self.date.into_owned()),
            region: Cow::Owned(self.region.into_owned()),
            service: Cow::Owned(self.service.into_owned()),
        }
    }

    /// Appends `<date>/<region>/<service>/aws4_request` (the hot path avoids `format!`).
    pub(crate) fn write_to(&self, out: &mut String) {
        for part in [
            &*self.date,
            "/",
            &*self.region,
            "/",
            &*self.service,
            "/aws4_request",
        ] {
            out.push_str(part);
        }
    }
}

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// Appends `bytes` in lowercase hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    push_hex(&mut out, bytes);
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sign(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

fn signing_key_tag(secret: &SecretKey, scope: &Scope<'_>) -> hmac::Tag {
    let seed = format!("AWS4{}", secret.expose());
    let k_date = hmac_sign(seed.as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sign(k_date.as_ref(), scope.region.as_bytes());
    let k_service = hmac_sign(k_region.as_ref(), scope.service.as_bytes());
    hmac_sign(k_service.as_ref(), b"aws4_request")
}

/// The derived key `kSigning` of one scope. It is valid for a day, so a verifier may keep it
/// per access key and skip four HMACs per request; it is as sensitive as the secret for that
/// scope.
pub struct SigningKey {
    scope: Scope<'static>,
    key: hmac::Key,
}

impl SigningKey {
    /// Derives the key of `scope` from `secret`.
    pub fn derive(secret: &SecretKey, scope: &Scope<'_>) -> Self {
        Self {
            scope: scope.clone().into_owned(),
            key: hmac::Key::new(hmac::HMAC_SHA256, signing_key_tag(secret, scope).as_ref()),
        }
    }

    /// The scope the key was derived for.
    pub fn scope(&self) -> &Scope<'static> {
        &self.scope
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.scope)
    }
}

/// The signing key in hex, for the published known-answer vectors (and nothing else: the key
/// is as sensitive as the secret for the day and scope it covers).
pub fn signing_key_hex(secret: &SecretKey, scope: &Scope<'_>) -> String {
    hex(signing_key_tag(secret, scope).as_ref())
}

/// The string to sign for a canonical request.
pub(crate) fn string_to_sign(time: &AmzDate, scope: &Scope<'_>, canonical_request: &str) -> String {
    let mut out = String::with_capacity(160);
    out.push_str(ALGORITHM);
    out.push('\n');
    time.write_to(&mut out);
    out.push('\n');
    scope.write_to(&mut out);
    out.push('\n');
    push_hex(
        &mut out,
        digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref(),
    );
    out
}

/// The signature of a string to sign, as bytes (what the verifier compares).
pub(crate) fn signature_bytes(key: &SigningKey, string_to_sign: &str) -> hmac::Tag {
    hmac::sign(&key.key, string_to_sign.as_bytes())
}

/// The hex signature of a string to sign (what the signer sends).
pub(crate) fn signature(key: &SigningKey, string_to_sign: &str) -> String {
    hex(signature_bytes(key, string_to_sign).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>(date: &'a str, region: &'a str, service: &'a str) -> Scope<'a> {
        Scope {
            date: date.into(),
            region: region.into(),
            service: service.into(),
        }
    }

    fn example_secret() -> SecretKey {
        SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into())
    }

    // Spec §2.9 K1, K2, S1, S2.
    #[test]
    fn signing_key_known_answers() {
        let cases = [
            (
                scope("20150830", "us-east-1", "iam"),
                "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
            ),
            (
                scope("20120215", "us-east-1", "iam"),
                "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
            ),
            (
                scope("20150830", "us-east-1", "sts"),
                "a9d028e9e96178f3ed6acfa66eff308447119de7ba1dd1dc7b666bbcb5686dfd",
            ),
            (
                scope("20150830", "us-west-2", "sts"),
                "46e24bfc170074733cea62f9504a4f43d55bd643a2fca031124f5eccd5ba9d17",
            ),
        ];
        for (s, expected) in cases {
            assert_eq!(signing_key_hex(&example_secret(), &s), expected, "{s}");
        }
    }
}
