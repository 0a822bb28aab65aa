//! What a request brings to evaluation: the principal, and the condition keys.

use std::borrow::Cow;
use std::collections::HashMap;

/// The value of a condition key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A single-valued key (`aws:username`, `aws:SourceIp`, …).
    Single(String),
    /// A multi-valued key (`aws:TagKeys`, `sts:TransitiveTagKeys`, …); may be empty.
    Multi(Vec<String>),
}

impl Value {
    /// The values as a slice (one element for a single-valued key).
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::Single(v) => std::slice::from_ref(v),
            Self::Multi(v) => v,
        }
    }
}

/// Condition keys of a request. Key names are case-insensitive (spec §5.5), so they are stored
/// folded to lowercase; values keep their case.
#[derive(Clone, Debug, Default)]
pub struct Context {
    keys: HashMap<String, Value>,
}

/// Room for the keys every request has (about twenty), so building a context never rehashes.
const USUAL_KEYS: usize = 32;

/// The folded form of a key name; names are nearly always ASCII, which folds without Unicode
/// tables, and lookups of already-folded names allocate nothing.
fn fold(key: &str) -> Cow<'_, str> {
    if !key.is_ascii() {
        Cow::Owned(key.to_lowercase())
    } else if key.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

impl Context {
    /// An empty context. It allocates nothing until a key is set.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, key: &str, value: Value) {
        if self.keys.capacity() == 0 {
            self.keys.reserve(USUAL_KEYS);
        }
        self.keys.insert(fold(key).into_owned(), value);
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.insert(key, Value::Single(value.into()));
        self
    }

    /// Sets a multi-valued key.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.insert(key, Value::Multi(values));
        self
    }

    /// Looks a key up, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.get(fold(key).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_in_every_script() {
        let mut c = Context::new();
        c.set("aws:PrincipalTag/Team", "a");
        c.set("aws:PrincipalTag/ÉQUIPE", "b");
        c.set("aws:PrincipalTag/\u{212A}elvin", "c");
        assert_eq!(
            c.get("AWS:principaltag/team"),
            Some(&Value::Single("a".into()))
        );
        assert_eq!(
            c.get("aws:principaltag/équipe"),
            Some(&Value::Single("b".into()))
        );
        assert_eq!(
            c.get("aws:principaltag/kelvin"),
            Some(&Value::Single("c".into())),
            "the Kelvin sign folds to an ASCII k"
        );
        c.set("AWS:PRINCIPALTAG/TEAM", "d");
        assert_eq!(
            c.get("aws:PrincipalTag/Team"),
            Some(&Value::Single("d".into()))
        );
        assert_eq!(c.get("aws:PrincipalTag/Other"), None);
    }
}

/// The kind of principal making the request (`aws:PrincipalType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root.
    Account,
    /// An IAM user (long-term keys or a GetSessionToken session).
    User,
    /// A role session.
    AssumedRole,
    /// A GetFederationToken session.
    FederatedUser,
    /// A web-identity or SAML caller before it has a session (trust evaluation).
    WebIdentity,
}

/// The principal as resource and trust policies match it (spec §5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// What it is.
    pub kind: PrincipalKind,
    /// Its ARN (the session ARN for sessions).
    pub arn: String,
    /// Its account.
    pub account: String,
    /// Its unique id (`AIDA…`, or the role's `AROA…` for role sessions).
    pub id: Option<String>,
    /// For role sessions: the role's ARN.
    pub role_arn: Option<String>,
    /// For federation: the provider (SAML/OIDC provider ARN, or a well-known IdP name).
    pub federated: Option<String>,
}
