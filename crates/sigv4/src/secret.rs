use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret access key.
///
/// Kept in its own type so that it cannot be logged by accident (`Debug` is redacted), is wiped
/// from memory when dropped, and can only be read through [`SecretKey::expose`], which makes
/// every use visible in review.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret; the caller gives up its copy.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for signing or for showing it to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into());
        assert_eq!(format!("{s:?}"), "SecretKey(<redacted>)");
    }
}
