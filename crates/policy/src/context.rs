//! What a request brings to evaluation: the principal, and the condition keys.

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

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.keys
            .insert(key.to_lowercase(), Value::Single(value.into()));
        self
    }

    /// Sets a multi-valued key.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.keys.insert(key.to_lowercase(), Value::Multi(values));
        self
    }

    /// Looks a key up, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.get(&key.to_lowercase())
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
