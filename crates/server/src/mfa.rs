//! Virtual MFA devices: seeds, their otpauth QR code, and RFC 6238 time-based one-time
//! passwords (HMAC-SHA1, 30-second steps, 6 digits) as authenticator apps compute them.

use crate::crypto::{CryptoError, random_bytes};
use aws_lc_rs::hmac;
use zeroize::Zeroizing;

/// Seconds per TOTP step.
const STEP_SECS: i64 = 30;
/// How many steps before or after now a code may come from when signing in: authenticator
/// clocks drift, and a code typed at the end of its step arrives in the next one.
const SIGN_IN_DRIFT: i64 = 1;
/// How far back `EnableMFADevice` and `ResyncMFADevice` look for the first of their two
/// consecutive codes (a device that drifted further needs a resync).
const ENABLE_WINDOW: i64 = 10;

/// A device seed: 20 random bytes (160 bits, as RFC 4226 recommends), zeroized on drop.
pub struct Seed(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// A new random seed.
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes: [u8; 20] = random_bytes()?;
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A seed read back from the store.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for sealing.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The Base32 form (RFC 4648, no padding) that users type into authenticator apps.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    /// The code of one 30-second step (RFC 6238 with RFC 4226's dynamic truncation).
    fn code_at_step(&self, step: i64) -> u32 {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac.last().map_or(0, |b| b & 0x0f));
        let word = mac
            .get(offset..offset + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, u32::from_be_bytes);
        (word & 0x7fff_ffff) % 1_000_000
    }

    fn matches(&self, step: i64, code: &str) -> bool {
        let expected = format!("{:06}", self.code_at_step(step));
        aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes())
            .is_ok()
    }

    /// The step `code` belongs to, if it is within the sign-in drift of `now`.
    pub fn verify(&self, code: &str, now: i64) -> Option<i64> {
        let current = now.div_euclid(STEP_SECS);
        (current - SIGN_IN_DRIFT..=current + SIGN_IN_DRIFT).find(|s| self.matches(*s, code))
    }

    /// Whether `first` and `second` are codes of two consecutive steps, the first within the
    /// enable window before now.
    pub fn verify_consecutive(&self, first: &str, second: &str, now: i64) -> bool {
        let current = now.div_euclid(STEP_SECS);
        (current - ENABLE_WINDOW..=current + SIGN_IN_DRIFT)
            .any(|s| self.matches(s, first) && self.matches(s + 1, second))
    }

    /// The `otpauth://` URI an authenticator app scans.
    pub fn otpauth_uri(&self, label: &str, issuer: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "otpauth://totp/{}?secret={}&issuer={}",
            tessera_sigv4::percent_encode(label),
            self.base32().as_str(),
            tessera_sigv4::percent_encode(issuer)
        ))
    }
}

/// Why a QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The URI does not fit in a QR code.
    #[error("QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    /// The PNG encoder failed.
    #[error("PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// Pixels per QR module, and the quiet zone in modules.
const MODULE_PX: usize = 4;
const QUIET_MODULES: usize = 4;

/// A grayscale PNG of the QR code of `text`.
pub fn qr_png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    let modules = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    let side = (modules + 2 * QUIET_MODULES) * MODULE_PX;
    let mut pixels = vec![255u8; side * side];
    for (i, is_dark) in dark.iter().enumerate() {
        if !is_dark {
            continue;
        }
        let (row, col) = (i / modules + QUIET_MODULES, i % modules + QUIET_MODULES);
        for dy in 0..MODULE_PX {
            let start = (row * MODULE_PX + dy) * side + col * MODULE_PX;
            if let Some(run) = pixels.get_mut(start..start + MODULE_PX) {
                run.fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side_u32 = u32::try_from(side).unwrap_or(u32::MAX);
    let mut encoder = png::Encoder::new(&mut out, side_u32, side_u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed, "12345678901234567890".
    fn rfc_seed() -> Seed {
        Seed::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()))
    }

    #[test]
    fn rfc_6238_vectors() {
        // Appendix B gives 8 digits; the 6-digit codes are their last six.
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(rfc_seed().verify(code, time), Some(time / 30), "{time}");
        }
    }

    #[test]
    fn codes_outside_the_drift_or_wrong_are_refused() {
        let seed = rfc_seed();
        assert!(seed.verify("287082", 59 + 30).is_some(), "one step late");
        assert!(seed.verify("287082", 59 + 60).is_none(), "two steps late");
        assert!(seed.verify("287083", 59).is_none());
        assert!(seed.verify("28708", 59).is_none());
    }

    #[test]
    fn consecutive_codes_must_be_in_order() {
        let seed = rfc_seed();
        let now = 1_111_111_111;
        let step = now / 30;
        let code = |s: i64| format!("{:06}", seed.code_at_step(s));
        assert!(seed.verify_consecutive(&code(step - 1), &code(step), now));
        assert!(!seed.verify_consecutive(&code(step), &code(step - 1), now));
        assert!(!seed.verify_consecutive(&code(step), &code(step), now));
        assert!(!seed.verify_consecutive(&code(step - 20), &code(step - 19), now));
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(
            rfc_seed().base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(
            rfc_seed()
                .otpauth_uri("d@1", "Tessera")
                .starts_with("otpauth://totp/d%401?secret=GEZDGNBVGY3TQOJQ")
        );
        assert!(!format!("{:?}", rfc_seed()).contains("GEZ"));
    }

    #[test]
    fn qr_codes_are_png() {
        let png = qr_png("otpauth://totp/x?secret=ABC").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
