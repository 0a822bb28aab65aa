//! The authenticated caller, and the identity values AWS derives from it (spec §3.7, §4.5).

use crate::snapshot::User;
use crate::tokens::SessionClaims;
use std::sync::Arc;
use tessera_proto::AccountId;

/// The identity behind the credentials.
#[derive(Debug, Clone)]
pub enum Identity {
    /// The account root.
    Root(AccountId),
    /// An IAM user (with long-term keys or a GetSessionToken session).
    User(Arc<User>),
}

/// How the caller authenticated.
#[derive(Debug)]
pub enum Credential {
    /// A long-term `AKIA…` key.
    LongTerm {
        /// The key id.
        access_key_id: String,
    },
    /// Temporary credentials; the claims come from the verified session token.
    Session(SessionClaims),
}

/// A caller whose signature has been verified. Only the authentication stage makes one.
#[derive(Debug)]
pub struct Caller {
    /// Who.
    pub identity: Identity,
    /// With what.
    pub credential: Credential,
}

impl Caller {
    /// The account of the caller.
    pub fn account(&self) -> AccountId {
        match &self.identity {
            Identity::Root(a) => *a,
            Identity::User(u) => u.account,
        }
    }

    /// The caller's ARN as `GetCallerIdentity` and error messages show it.
    pub fn arn(&self, partition: &str) -> String {
        match &self.identity {
            Identity::Root(a) => format!("arn:{partition}:iam::{a}:root"),
            Identity::User(u) => u.arn.to_string(),
        }
    }

    /// `aws:userid`.
    pub fn user_id(&self) -> String {
        match &self.identity {
            Identity::Root(a) => a.to_string(),
            Identity::User(u) => u.unique_id.clone(),
        }
    }

    /// The access key id the request was signed with.
    pub fn access_key_id(&self) -> &str {
        match &self.credential {
            Credential::LongTerm { access_key_id } => access_key_id,
            Credential::Session(c) => &c.access_key_id,
        }
    }

    /// Whether the caller used temporary credentials.
    pub fn is_session(&self) -> bool {
        matches!(self.credential, Credential::Session(_))
    }
}
