//! Unique ids of IAM entities.

use std::fmt;

/// The kinds of IAM entity that carry a unique id, each with AWS's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UniqueIdKind {
    /// `AIDA`: IAM user.
    User,
    /// `AROA`: role.
    Role,
    /// `AGPA`: group.
    Group,
    /// `ANPA`: managed policy.
    Policy,
}

impl UniqueIdKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::User => "AIDA",
            Self::Role => "AROA",
            Self::Group => "AGPA",
            Self::Policy => "ANPA",
        }
    }
}

/// A unique id (`AIDA` + 17 base32 characters): never reused, unlike names.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UniqueId(String);

impl UniqueId {
    /// Issues a new id from 17 random bytes (one base32 character each).
    pub fn generate(kind: UniqueIdKind, random: [u8; 17]) -> Self {
        let mut s = String::with_capacity(21);
        s.push_str(kind.prefix());
        s.extend(random.iter().map(|b| crate::base32_char(*b)));
        Self(s)
    }

    /// Wraps an id read back from our own store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_aws_shape() {
        let id = UniqueId::generate(UniqueIdKind::User, [255; 17]);
        assert_eq!(id.as_str(), "AIDA77777777777777777");
        assert_eq!(
            UniqueId::generate(UniqueIdKind::Role, [0; 17])
                .as_str()
                .len(),
            21
        );
    }
}
