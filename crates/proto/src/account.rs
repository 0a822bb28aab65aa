//! Account ids.

use std::fmt;

/// A 12-digit AWS account id. Leading zeros are significant, so it is kept as a number below
/// 10^12 and always rendered with 12 digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(u64);

/// The largest account id plus one.
const LIMIT: u64 = 1_000_000_000_000;

impl AccountId {
    /// Parses exactly 12 ASCII digits.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(Self)
        } else {
            None
        }
    }

    /// Builds an id from a number, if it has at most 12 digits.
    pub fn from_u64(n: u64) -> Option<Self> {
        (n < LIMIT).then_some(Self(n))
    }

    /// The id as a number, for packing into access key ids.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_leading_zeros() {
        let a = AccountId::parse("000000000042").unwrap();
        assert_eq!(a.to_string(), "000000000042");
    }

    #[test]
    fn refuses_anything_but_twelve_digits() {
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "-12345678901",
            "+12345678901",
        ] {
            assert!(AccountId::parse(bad).is_none(), "{bad}");
        }
        assert!(AccountId::from_u64(LIMIT).is_none());
    }
}
