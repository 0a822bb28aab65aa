//! Account ids.

use std::fmt;

/// A 12-digit AWS account id. Leading zeros are significant, so it is kept as its 12 ASCII
/// digits: it is written into ARNs and condition keys on every request, and this way that is a
/// copy, not a number formatted with padding. Fixed width makes byte order numeric order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 12]);

/// The largest account id plus one.
const LIMIT: u64 = 1_000_000_000_000;

impl AccountId {
    /// Parses exactly 12 ASCII digits.
    pub fn parse(s: &str) -> Option<Self> {
        let digits = <[u8; 12]>::try_from(s.as_bytes()).ok()?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then_some(Self(digits))
    }

    /// Builds an id from a number, if it has at most 12 digits.
    pub fn from_u64(n: u64) -> Option<Self> {
        if n >= LIMIT {
            return None;
        }
        let mut digits = [b'0'; 12];
        let mut rest = n;
        for d in digits.iter_mut().rev() {
            // `rest % 10` is below 10, so the cast cannot truncate.
            *d = b'0' + u8::try_from(rest % 10).unwrap_or(0);
            rest /= 10;
        }
        Some(Self(digits))
    }

    /// The id as a number, for packing into access key ids.
    pub fn as_u64(self) -> u64 {
        self.0
            .iter()
            .fold(0, |n, d| n * 10 + u64::from(d.wrapping_sub(b'0')))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        // Only `parse` and `from_u64` build an id, and both leave ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    #[test]
    fn numbers_and_digits_round_trip() {
        for n in [0, 42, 123_456_789_012, LIMIT - 1] {
            let a = AccountId::from_u64(n).unwrap();
            assert_eq!(a.as_u64(), n);
            assert_eq!(a.as_str(), format!("{n:012}"));
            assert_eq!(AccountId::parse(a.as_str()), Some(a));
        }
        let (low, high) = (
            AccountId::from_u64(9).unwrap(),
            AccountId::from_u64(10).unwrap(),
        );
        assert!(low < high, "order is numeric");
    }
}
