//! The authenticated caller, and the identity values AWS derives from it (spec §3.7, §4.5).

use crate::snapshot::{ManagedPolicy, Role, Snapshot, User};
use crate::tokens::SessionClaims;
use crate::tokens::{Federated, Origin, PackedSession, unpack};
use std::sync::Arc;
use tessera_policy::{
    Context, Decision, Policies, Policy, PolicyKind, Principal, PrincipalKind,
    Request as PolicyRequest, authorize, authorize_assume,
};
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

impl RequestEnv<'_> {
    /// The condition keys of the request itself, present whoever calls (spec §3.0.10).
    pub fn global_context(&self) -> Context {
        let mut c = Context::new();
        c.set("aws:SourceIp", self.source_ip);
        c.set("aws:SecureTransport", "false");
        c.set(
            "aws:CurrentTime",
            tessera_proto::sts::format_timestamp(self.now),
        );
        c.set("aws:EpochTime", self.now.unix_timestamp().to_string());
        c
    }
}

/// The identity behind the credentials, borrowed from the snapshot the request is served
/// from. Borrowing rather than holding an `Arc` matters: every request would otherwise bump a
/// reference count that all worker threads share, and that cache line was the most contended
/// one in the server.
#[derive(Debug, Clone)]
pub enum Identity<'s> {
    /// The account root.
    Root(AccountId),
    /// An IAM user (with long-term keys or a GetSessionToken session).
    User(&'s User),
    /// A federated user (GetFederationToken): the federating user's permissions ∩ the session
    /// policies.
    FederatedUser {
        /// The IAM user who federated, as it is now; `None` for the account root.
        parent: Option<&'s User>,
        /// The account.
        account: AccountId,
        /// The federated user's name.
        name: String,
    },
    /// A session of a role.
    RoleSession {
        /// The role, as it is now (its current policies apply).
        role: &'s Role,
        /// The `RoleSessionName`.
        session_name: String,
    },
}

/// `arn:<partition>:sts::<account>:assumed-role/<role name>/<session>` (no role path).
pub fn role_session_arn(partition: &str, role: &Role, session_name: &str) -> String {
    format!(
        "arn:{partition}:sts::{}:assumed-role/{}/{session_name}",
        role.account, role.name
    )
}

/// `arn:<partition>:sts::<account>:federated-user/<name>`.
pub fn federated_user_arn(partition: &str, account: AccountId, name: &str) -> String {
    format!("arn:{partition}:sts::{account}:federated-user/{name}")
}

/// `<role unique id>:<session>`, the session's `aws:userid`.
pub fn role_session_id(role: &Role, session_name: &str) -> String {
    format!("{}:{session_name}", role.unique_id)
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
    Session(Box<SessionClaims>),
}

/// A caller whose signature has been verified. Only the authentication stage makes one.
#[derive(Debug)]
pub struct Caller<'s> {
    /// Who.
    pub identity: Identity<'s>,
    /// With what.
    pub credential: Credential,
    /// The region the request was signed for (`aws:RequestedRegion`).
    pub region: String,
    /// The session's packed tags and policies, unpacked and parsed once per request.
    pub session: SessionData,
}

/// A session's packed section, opened once when the caller is authenticated.
#[derive(Debug, Default)]
pub struct SessionData {
    /// Session tags and policy texts.
    pub packed: PackedSession,
    /// The inline session policy, parsed (validated when the session was minted).
    pub policies: Vec<Policy>,
    /// The managed session policies as they are now; one deleted since is simply absent, so
    /// it allows nothing.
    pub managed: Vec<Arc<ManagedPolicy>>,
}

impl SessionData {
    /// Opens the packed section of a session's claims, resolving its managed policies in the
    /// current snapshot.
    pub fn open(claims: &SessionClaims, snapshot: &Snapshot) -> Self {
        let packed = unpack(&claims.packed).unwrap_or_default();
        let policies = packed
            .policy
            .iter()
            .filter_map(|p| Policy::parse(p, PolicyKind::Identity).ok())
            .collect();
        let managed = packed
            .policy_arns
            .iter()
            .filter_map(|arn| snapshot.managed_policy(arn).cloned())
            .collect();
        Self {
            packed,
            policies,
            managed,
        }
    }

    /// Every session policy, inline and managed.
    pub fn all_policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies
            .iter()
            .chain(self.managed.iter().filter_map(|m| m.in_force()))
    }
}

impl Caller<'_> {
    /// The account of the caller.
    pub fn account(&self) -> AccountId {
        match &self.identity {
            Identity::Root(a) => *a,
            Identity::User(u) => u.account,
            Identity::RoleSession { role, .. } => role.account,
            Identity::FederatedUser { account, .. } => *account,
        }
    }

    /// The caller's ARN as `GetCallerIdentity` and error messages show it.
    pub fn arn(&self, partition: &str) -> String {
        match &self.identity {
            Identity::Root(a) => format!("arn:{partition}:iam::{a}:root"),
            Identity::User(u) => u.arn.to_string(),
            Identity::RoleSession { role, session_name } => {
                role_session_arn(partition, role, session_name)
            }
            Identity::FederatedUser { account, name, .. } => {
                federated_user_arn(partition, *account, name)
            }
        }
    }

    /// `aws:userid`.
    pub fn user_id(&self) -> String {
        match &self.identity {
            Identity::Root(a) => a.to_string(),
            Identity::User(u) => u.unique_id.clone(),
            Identity::RoleSession { role, session_name } => role_session_id(role, session_name),
            Identity::FederatedUser { account, name, .. } => format!("{account}:{name}"),
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
        let (kind, id, role_arn) = match &self.identity {
            Identity::Root(_) => (PrincipalKind::Account, None, None),
            Identity::User(u) => (PrincipalKind::User, Some(u.unique_id.clone()), None),
            Identity::RoleSession { role, .. } => (
                PrincipalKind::AssumedRole,
                Some(role.unique_id.clone()),
                Some(role.arn.to_string()),
            ),
            Identity::FederatedUser { .. } => (PrincipalKind::FederatedUser, None, None),
        };
        Principal {
            kind,
            arn: self.arn(partition),
            account: self.account().to_string(),
            id,
            role_arn,
            federated: None,
        }
    }

    /// The global condition keys of a request by this caller (spec §3.0.10, §4.5).
    pub fn context(&self, env: &RequestEnv<'_>) -> Context {
        let mut c = env.global_context();
        let (principal_type, username, principal_arn) = match &self.identity {
            Identity::Root(_) => ("Account", None, self.arn(env.partition)),
            Identity::User(u) => ("User", Some(u.name.as_str()), u.arn.to_string()),
            // For role sessions `aws:PrincipalArn` is the role, not the session (spec §4.5).
            Identity::RoleSession { role, .. } => ("AssumedRole", None, role.arn.to_string()),
            Identity::FederatedUser { .. } => ("FederatedUser", None, self.arn(env.partition)),
        };
        c.set("aws:PrincipalType", principal_type);
        c.set("aws:userid", self.user_id());
        if let Some(name) = username {
            c.set("aws:username", name);
        }
        c.set("aws:PrincipalArn", principal_arn);
        for (key, value) in self.principal_tags() {
            c.set(&format!("aws:PrincipalTag/{key}"), value);
        }
        c.set("aws:PrincipalAccount", self.account().to_string());
        c.set("aws:RequestedRegion", self.region.as_str());
        if let Some(f) = self.federated() {
            c.set("aws:FederatedProvider", f.provider.as_str());
            for (key, values) in &f.keys {
                c.set_multi(key, values.clone());
            }
        }
        match &self.credential {
            Credential::LongTerm { .. } => {}
            Credential::Session(claims) => {
                if let Some(si) = &claims.source_identity {
                    c.set("aws:SourceIdentity", si.as_str());
                }
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

    /// The session's packed policies and tags (empty for long-term credentials).
    pub fn packed(&self) -> &PackedSession {
        &self.session.packed
    }

    /// `aws:PrincipalTag/*`: the user's or role's tags, overridden by the session's tags, keys
    /// compared case-insensitively (spec §3.0.5).
    pub fn principal_tags(&self) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = match &self.identity {
            Identity::Root(_) => Vec::new(),
            Identity::User(u) => u.tags.clone(),
            Identity::RoleSession { role, .. } => role.tags.clone(),
            Identity::FederatedUser { parent, .. } => {
                parent.as_ref().map(|u| u.tags.clone()).unwrap_or_default()
            }
        };
        for (key, value, _) in &self.packed().tags {
            tags.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
            tags.push((key.clone(), value.clone()));
        }
        tags
    }

    /// The identity provider the caller's session came from, if federated.
    pub fn federated(&self) -> Option<&Federated> {
        match &self.credential {
            Credential::LongTerm { .. } => None,
            Credential::Session(c) => c.federated.as_deref(),
        }
    }

    /// The long-term key at the root of the caller's credentials, which new sessions inherit.
    pub fn root_key(&self) -> Option<String> {
        match &self.credential {
            Credential::LongTerm { access_key_id } => Some(access_key_id.clone()),
            Credential::Session(c) => c.parent_key.clone(),
        }
    }

    /// Whether the caller is a federated user (it may call only GetCallerIdentity, spec §2.11).
    pub fn is_federated(&self) -> bool {
        matches!(self.identity, Identity::FederatedUser { .. })
    }

    /// Whether the session came from `GetSessionToken` (a "user session", spec §2.11).
    pub fn is_user_session(&self) -> bool {
        matches!(&self.credential, Credential::Session(c) if c.origin == Origin::GetSessionToken)
    }

    /// The caller's identity policies and permissions boundary, as they are now.
    fn own_policies(&self) -> (Vec<&Policy>, Option<&Policy>) {
        match &self.identity {
            Identity::Root(_) => (Vec::new(), None),
            Identity::User(u) => (u.policies().collect(), u.boundary_policy()),
            Identity::RoleSession { role, .. } => {
                (role.policies().collect(), role.boundary_policy())
            }
            Identity::FederatedUser {
                parent: Some(u), ..
            } => (u.policies().collect(), u.boundary_policy()),
            // The root's federated users are limited only by their session policies.
            Identity::FederatedUser { parent: None, .. } => {
                (self.session.all_policies().collect(), None)
            }
        }
    }

    /// Whether any of the caller's own policies (identity, boundary, session) can consult the
    /// request context. When none can, and neither can the resource's policy, the context need
    /// not be built (building it was about a tenth of the work `AssumeRole` itself does).
    pub fn policies_read_context(&self) -> bool {
        let (identity, boundary) = self.own_policies();
        self.any_reads_context(&identity, boundary)
    }

    /// [`Self::policies_read_context`] for identity policies and a boundary already gathered.
    fn any_reads_context(&self, identity: &[&Policy], boundary: Option<&Policy>) -> bool {
        identity
            .iter()
            .copied()
            .chain(boundary)
            .chain(self.session.all_policies())
            .any(Policy::reads_context)
    }

    /// Decides an action on a resource with the caller's policies: its identity policies, its
    /// session policies (if the session has any), and `trust` when the resource is a role being
    /// assumed (then with the trust-policy rules of spec §3.0.9).
    pub fn decide(
        &self,
        env: &RequestEnv<'_>,
        action: &str,
        resource: &str,
        resource_account: &str,
        assume: Option<(&Policy, &Context)>,
    ) -> Decision {
        let principal = self.policy_principal(env.partition);
        let packed = self.packed();
        let has_session_policy = packed.policy.is_some() || !packed.policy_arns.is_empty();
        let (identity, boundary) = self.own_policies();
        let own_context;
        let context = match assume {
            Some((_, c)) => c,
            None => {
                own_context = if self.any_reads_context(&identity, boundary) {
                    self.context(env)
                } else {
                    Context::new()
                };
                &own_context
            }
        };
        let policies = Policies {
            identity,
            resource: assume.map(|(trust, _)| trust),
            boundary,
            session: has_session_policy.then(|| self.session.all_policies().collect()),
        };
        let request = PolicyRequest {
            principal: &principal,
            action,
            resource,
            resource_account,
            context,
        };
        match assume {
            Some(_) => authorize_assume(&policies, &request, false),
            None => authorize(&policies, &request),
        }
    }
}
