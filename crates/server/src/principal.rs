//! The authenticated caller, and the identity values AWS derives from it (spec §3.7, §4.5).

use crate::snapshot::User;
use crate::tokens::SessionClaims;
use std::sync::Arc;
use tessera_policy::{Context, Principal, PrincipalKind};
use tessera_proto::AccountId;
use time::OffsetDateTime;

/// Facts about the request itself that conditions can test.
pub struct RequestEnv<'a> {
    /// The ARN partition.
    pub partition: &'a str,
    /// Server time.
    pub now: OffsetDateTime,
    /// Client address.
    pub source_ip: &'a str,
}

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
    /// The region the request was signed for (`aws:RequestedRegion`).
    pub region: String,
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

    /// The principal as policies match it.
    pub fn policy_principal(&self, partition: &str) -> Principal {
        let (kind, id) = match &self.identity {
            Identity::Root(_) => (PrincipalKind::Account, None),
            Identity::User(u) => (PrincipalKind::User, Some(u.unique_id.clone())),
        };
        Principal {
            kind,
            arn: self.arn(partition),
            account: self.account().to_string(),
            id,
            role_arn: None,
            federated: None,
        }
    }

    /// The global condition keys of a request by this caller (spec §3.0.10, §4.5).
    pub fn context(&self, env: &RequestEnv<'_>) -> Context {
        let mut c = Context::new();
        let (principal_type, username) = match &self.identity {
            Identity::Root(_) => ("Account", None),
            Identity::User(u) => ("User", Some(u.name.as_str())),
        };
        c.set("aws:PrincipalType", principal_type);
        c.set("aws:userid", self.user_id());
        if let Some(name) = username {
            c.set("aws:username", name);
        }
        c.set("aws:PrincipalArn", self.arn(env.partition));
        c.set("aws:PrincipalAccount", self.account().to_string());
        c.set("aws:SourceIp", env.source_ip);
        c.set("aws:RequestedRegion", self.region.as_str());
        c.set("aws:SecureTransport", "false");
        c.set(
            "aws:CurrentTime",
            tessera_proto::sts::format_timestamp(env.now),
        );
        c.set("aws:EpochTime", env.now.unix_timestamp().to_string());
        match &self.credential {
            Credential::LongTerm { .. } => {}
            Credential::Session(claims) => {
                let issued =
                    OffsetDateTime::from_unix_timestamp(claims.issued_at).unwrap_or(env.now);
                c.set(
                    "aws:TokenIssueTime",
                    tessera_proto::sts::format_timestamp(issued),
                );
                match claims.mfa_authenticated_at {
                    Some(at) => {
                        c.set("aws:MultiFactorAuthPresent", "true");
                        c.set(
                            "aws:MultiFactorAuthAge",
                            (env.now.unix_timestamp() - at).max(0).to_string(),
                        );
                    }
                    None => {
                        c.set("aws:MultiFactorAuthPresent", "false");
                    }
                }
            }
        }
        c
    }
}
