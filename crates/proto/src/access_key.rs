//! Access key ids, which carry their account inside them.

use crate::{AccountId, BASE32_ALPHABET};
use std::fmt;

/// Whether a key is long-term (an IAM user's) or temporary (a session's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `AKIA…`.
    LongTerm,
    /// `ASIA…`.
    Temporary,
}

impl KeyKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::LongTerm => "AKIA",
            Self::Temporary => "ASIA",
        }
    }
}

/// An access key id as Tessera issues them: a 4-letter prefix and 16 base32 characters that
/// encode 10 bytes. The first 6 bytes carry the account id in the layout AWS uses (and third-party
/// tools decode): `(bytes[0..6] as u48 & 0x7FFF_FFFF_FF80) >> 7`, so `GetAccessKeyInfo` needs no
/// lookup. The remaining bits are random.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessKeyId {
    kind: KeyKind,
    /// Always 20 ASCII characters: the prefix and the base32 text.
    text: [u8; 20],
}

/// Whether `b` is one of the base32 characters (`A–Z`, `2–7`).
fn is_base32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

impl AccessKeyId {
    /// Issues a new id for `account`, taking its unpredictable bits from `random`.
    pub fn generate(kind: KeyKind, account: AccountId, random: [u8; 5]) -> Self {
        let [r0, r1, r2, r3, r4] = random;
        let packed: u64 = (account.as_u64() << 7) | u64::from(r0 & 0x7F);
        let high = packed.to_be_bytes();
        let mut bytes = [0u8; 10];
        bytes[..6].copy_from_slice(&high[2..8]);
        bytes[6..].copy_from_slice(&[r1, r2, r3, r4]);
        let mut text = [0u8; 20];
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let (head, tail) = text.split_at_mut(4);
        head.copy_from_slice(kind.prefix().as_bytes());
        for (slot, shift) in tail.iter_mut().zip((0..16).rev()) {
            // `base32_char` yields ASCII, so this is a byte.
            *slot = crate::base32_char((bits >> (shift * 5)) as u8) as u8;
        }
        Self { kind, text }
    }

    /// Parses an id of the form we issue (or AWS issues): `AKIA`/`ASIA` + 16 base32 characters.
    pub fn parse(s: &str) -> Option<Self> {
        let kind = match s.get(..4)? {
            "AKIA" => KeyKind::LongTerm,
            "ASIA" => KeyKind::Temporary,
            _ => return None,
        };
        let text = <[u8; 20]>::try_from(s.as_bytes()).ok()?;
        if !text.iter().skip(4).all(|&b| is_base32(b)) {
            return None;
        }
        Some(Self { kind, text })
    }

    /// Long-term or temporary.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Built only from ASCII by `generate` and `parse`.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// The account encoded in the id. Valid for ids we issue and for AWS ids issued since 2019;
    /// for anything else it is a number that belongs to nobody.
    pub fn account(&self) -> Option<AccountId> {
        let mut bits: u128 = 0;
        for &c in self.text.iter().skip(4) {
            let v = BASE32_ALPHABET.iter().position(|&a| a == c)?;
            bits = (bits << 5) | v as u128;
        }
        let first_six = (bits >> 32) as u64;
        AccountId::from_u64((first_six & 0x7FFF_FFFF_FF80) >> 7)
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_round_trips_through_the_id() {
        for n in [0u64, 1, 123_456_789_012, 999_999_999_999] {
            let account = AccountId::from_u64(n).unwrap();
            for random in [[0u8; 5], [0xFF; 5], [1, 2, 3, 4, 5]] {
                let id = AccessKeyId::generate(KeyKind::Temporary, account, random);
                assert_eq!(id.as_str().len(), 20);
                assert!(id.as_str().starts_with("ASIA"));
                assert_eq!(id.account(), Some(account), "{id}");
                assert_eq!(AccessKeyId::parse(id.as_str()), Some(id));
            }
        }
    }

    #[test]
    fn decodes_a_published_aws_key() {
        // AWS documents that ASIAY34FZKBOKMUTVV7A belongs to account 609629065308.
        let id = AccessKeyId::parse("ASIAY34FZKBOKMUTVV7A").unwrap();
        assert_eq!(id.account().unwrap().to_string(), "609629065308");
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "",
            "AKIA",
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLE1",
            "AIDAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPL0",
            "akiaiosfodnn7example",
            "AKIAIOSFODNN7EXAMPLe",
            "AKIAIOSFODNN7EXAMPL1",
            "AKIAIOSFODNN7EXAMPL8",
            "AKIAIOSFODNN7EXAMP=",
            "AKIAÉÉÉÉÉÉÉÉ",
            "AKIAIOSFODNN7EXAMPÉ",
        ] {
            assert!(AccessKeyId::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            AccessKeyId::parse("AKIAIOSFODNN7EXAMPLE").unwrap().kind(),
            KeyKind::LongTerm
        );
    }
}
