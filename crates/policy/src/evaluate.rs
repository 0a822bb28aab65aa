//! Evaluation: which statements apply to a request, and how the policy types combine
//! (spec §5.7–5.8), written as a decision table.
//!
//! | step | rule | outcome |
//! |---|---|---|
//! | 1 | any applicable `Deny` in any policy (identity, resource, boundary, session) | explicit deny |
//! | 2 | same account, and a resource policy `Allow` names this user / session / federated user exactly | allow |
//! | 3 | same account: no identity `Allow` and no resource `Allow` naming the role or everyone | implicit deny (identity) |
//! | 3' | other account: no resource `Allow` naming the principal, its role, its account or everyone | implicit deny (resource) |
//! | 3'' | other account: no identity `Allow` | implicit deny (identity) |
//! | 4 | a permissions boundary is set and allows nothing applicable | implicit deny (boundary) |
//! | 5 | session policies are present and none allows | implicit deny (session) |
//! | 6 | otherwise | allow |
//!
//! A resource policy naming an account delegates to that account's identity policies; it grants
//! nothing by itself.

use crate::context::{Context, Principal, PrincipalKind};
use crate::document::{Effect, Matcher, Policy, Statement};
use crate::pattern::{Tok, arn_match, matches_chars, matches_tokens};
use crate::principal::{PrincipalValue, not_principal_excludes};
use crate::variables::expand;

/// What is being asked.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who asks.
    pub principal: &'a Principal,
    /// `service:Action`; matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN (or `*`); matched case-sensitively, per ARN segment.
    pub resource: &'a str,
    /// The account that owns the resource.
    pub resource_account: &'a str,
    /// Condition keys.
    pub context: &'a Context,
}

/// The policies that apply to a request.
#[derive(Clone, Debug, Default)]
pub struct Policies<'a> {
    /// The principal's identity policies (inline, attached, groups').
    pub identity: Vec<&'a Policy>,
    /// The resource's policy, if it has one.
    pub resource: Option<&'a Policy>,
    /// The principal's permissions boundary, if set.
    pub boundary: Option<&'a Policy>,
    /// Session policies, if the principal is a session created with any (`None` = no limit).
    pub session: Option<Vec<&'a Policy>>,
}

/// Which policy type a statement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An identity policy.
    Identity,
    /// The resource (or trust) policy.
    Resource,
    /// The permissions boundary.
    Boundary,
    /// A session policy.
    Session,
}

/// A statement that took part in a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    /// Policy type.
    pub source: Source,
    /// Index of the policy within its type.
    pub policy: usize,
    /// Index of the statement within the policy.
    pub statement: usize,
    /// Its Sid, if any.
    pub sid: Option<String>,
}

/// Which policy type failed to allow, for AWS's "because no … policy allows" messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No identity-based policy allows.
    Identity,
    /// No resource-based policy allows.
    Resource,
    /// The permissions boundary does not allow.
    Boundary,
    /// No session policy allows.
    Session,
}

/// The outcome, naming the statements that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by these statements.
    Allow {
        /// The allowing statements.
        by: Vec<Matched>,
    },
    /// Denied by these statements.
    ExplicitDeny {
        /// The denying statements.
        by: Vec<Matched>,
    },
    /// Nothing allowed.
    ImplicitDeny {
        /// The first policy type that did not allow.
        missing: Missing,
    },
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }
}

fn matcher_holds<T>(m: &Matcher<T>, hit: impl Fn(&T) -> bool) -> bool {
    match m {
        Matcher::Any(items) => items.iter().any(hit),
        Matcher::NoneOf(items) => !items.iter().any(hit),
    }
}

/// Whether `action` matches a lowercased action pattern, ignoring case. Action names are ASCII
/// (`service:Action`), and those are folded as they are read; anything else is lowercased with
/// Unicode's full rules first, exactly as the pattern was.
fn action_matches(pattern: &[Tok], action: &str) -> bool {
    if action.is_ascii() {
        matches_chars(pattern, action.chars().map(|c| c.to_ascii_lowercase()))
    } else {
        matches_tokens(pattern, &action.to_lowercase())
    }
}

/// Whether statement `s` applies. `bounded`: the principal has a permissions boundary, and then
/// AWS ignores the exceptions of a `Deny` with `NotPrincipal`: it denies every bounded principal
/// (IAM User Guide, "NotPrincipal", key points).
fn applies(policy: &Policy, s: &Statement, req: &Request<'_>, bounded: bool) -> bool {
    if !matcher_holds(&s.action, |p| action_matches(p, req.action)) {
        return false;
    }
    if let Some(resource) = &s.resource {
        let hit = |pattern: &String| {
            // `*` matches every resource; it is the most common pattern by far.
            pattern == "*"
                || expand(pattern, req.context, policy.variables)
                    .is_some_and(|p| arn_match(&p, req.resource))
        };
        if !matcher_holds(resource, hit) {
            return false;
        }
    }
    let principal_ok = match &s.principal {
        None => true,
        Some(Matcher::Any(values)) => values.iter().any(|v| v.matches(req.principal)),
        Some(Matcher::NoneOf(values)) => {
            (bounded && s.effect == Effect::Deny) || !not_principal_excludes(values, req.principal)
        }
    };
    if !principal_ok {
        return false;
    }
    s.conditions
        .iter()
        .all(|c| c.holds(req.context, policy.variables))
}

/// How far a resource-policy `Allow` reaches for this principal (spec §5.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// Names the account: the account's identity policies decide.
    Account,
    /// Names the role or everyone: grants, within boundary and session policies.
    Role,
    /// Names this user, session or federated user: grants outright.
    Exact,
}

fn reach(s: &Statement, p: &Principal) -> Reach {
    match &s.principal {
        Some(Matcher::Any(values)) => values
            .iter()
            .filter(|v| v.matches(p))
            .map(|v| {
                if v.names_exactly(p) {
                    Reach::Exact
                } else if matches!(v, PrincipalValue::Aws(a) if a.len() == 12 || a.ends_with(":root")) {
                    Reach::Account
                } else {
                    Reach::Role
                }
            })
            .max()
            .unwrap_or(Reach::Account),
        // `NotPrincipal` with Allow names nobody in particular.
        Some(Matcher::NoneOf(_)) | None => Reach::Role,
    }
}

struct Hits {
    allow: Vec<(Matched, Reach)>,
    deny: Vec<Matched>,
}

fn collect(
    hits: &mut Hits,
    source: Source,
    policies: &[&Policy],
    req: &Request<'_>,
    bounded: bool,
) {
    for (pi, policy) in policies.iter().enumerate() {
        for (si, s) in policy.statements.iter().enumerate() {
            if applies(policy, s, req, bounded) {
                let m = Matched {
                    source,
                    policy: pi,
                    statement: si,
                    sid: s.sid.clone(),
                };
                match s.effect {
                    Effect::Allow => hits.allow.push((m, reach(s, req.principal))),
                    Effect::Deny => hits.deny.push(m),
                }
            }
        }
    }
}

/// Collects the caller's side: identity policies, permissions boundary, session policies.
fn caller_hits(policies: &Policies<'_>, req: &Request<'_>) -> Hits {
    let mut hits = Hits {
        allow: Vec::new(),
        deny: Vec::new(),
    };
    let bounded = policies.boundary.is_some();
    collect(
        &mut hits,
        Source::Identity,
        &policies.identity,
        req,
        bounded,
    );
    collect(
        &mut hits,
        Source::Boundary,
        policies.boundary.as_slice(),
        req,
        bounded,
    );
    if let Some(session) = &policies.session {
        collect(&mut hits, Source::Session, session, req, bounded);
    }
    hits
}

fn allows_from(hits: &Hits, source: Source) -> bool {
    hits.allow.iter().any(|(m, _)| m.source == source)
}

/// The intersections of spec §5.7 steps 5–6: a boundary that allows nothing applicable, then
/// session policies that allow nothing. A federated user is always limited by its session
/// policies: without any, it has no permissions (spec §3.0.4).
fn limit(hits: Hits, policies: &Policies<'_>, req: &Request<'_>) -> Decision {
    if policies.boundary.is_some() && !allows_from(&hits, Source::Boundary) {
        return Decision::ImplicitDeny {
            missing: Missing::Boundary,
        };
    }
    let session_limited =
        policies.session.is_some() || req.principal.kind == PrincipalKind::FederatedUser;
    if session_limited && !allows_from(&hits, Source::Session) {
        return Decision::ImplicitDeny {
            missing: Missing::Session,
        };
    }
    allowed(hits)
}

fn allowed(hits: Hits) -> Decision {
    Decision::Allow {
        by: hits.allow.into_iter().map(|(m, _)| m).collect(),
    }
}

/// Decides a request.
pub fn authorize(policies: &Policies<'_>, req: &Request<'_>) -> Decision {
    let mut hits = caller_hits(policies, req);
    collect(
        &mut hits,
        Source::Resource,
        policies.resource.as_slice(),
        req,
        policies.boundary.is_some(),
    );
    if !hits.deny.is_empty() {
        return Decision::ExplicitDeny { by: hits.deny };
    }
    let resource_reach = hits
        .allow
        .iter()
        .filter(|(m, _)| m.source == Source::Resource)
        .map(|(_, r)| *r)
        .max();
    let same_account = req.resource_account == req.principal.account;
    if same_account && resource_reach == Some(Reach::Exact) {
        return allowed(hits);
    }
    let identity = allows_from(&hits, Source::Identity);
    if same_account {
        if !identity && resource_reach.is_none_or(|r| r < Reach::Role) {
            return Decision::ImplicitDeny {
                missing: Missing::Identity,
            };
        }
    } else {
        if resource_reach.is_none() {
            return Decision::ImplicitDeny {
                missing: Missing::Resource,
            };
        }
        if !identity {
            return Decision::ImplicitDeny {
                missing: Missing::Identity,
            };
        }
    }
    limit(hits, policies, req)
}

/// How directly a trust-policy `Allow` names the caller (spec §3.0.9 step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TrustReach {
    /// The account (`"123456789012"`, `arn:…:root`) or everyone: the caller's identity side decides.
    Account,
    /// The role of a role session: grants within the session's boundary and session policies.
    Role,
    /// The user, the exact session, or the federation provider: grants outright (same account).
    Direct,
}

fn trust_reach(s: &Statement, p: &Principal) -> TrustReach {
    let Some(Matcher::Any(values)) = &s.principal else {
        return TrustReach::Account;
    };
    values
        .iter()
        .filter(|v| v.matches(p))
        .map(|v| match v {
            PrincipalValue::Everyone => TrustReach::Account,
            PrincipalValue::Aws(a) if a.len() == 12 || a.ends_with(":root") => TrustReach::Account,
            PrincipalValue::Aws(a)
                if p.kind == PrincipalKind::AssumedRole
                    && (p.role_arn.as_deref() == Some(a.as_str())
                        || p.id.as_deref() == Some(a.as_str())) =>
            {
                TrustReach::Role
            }
            PrincipalValue::Aws(_)
            | PrincipalValue::Federated(_)
            | PrincipalValue::Service(_)
            | PrincipalValue::CanonicalUser(_) => TrustReach::Direct,
        })
        .max()
        .unwrap_or(TrustReach::Account)
}

/// Decides one action of assuming a role (spec §3.0.9): `policies.resource` is the role's trust
/// policy, the rest is the caller's identity side (`identity` empty for federation, where only
/// the trust policy counts — pass `federation = true`).
///
/// | step | rule | outcome |
/// |---|---|---|
/// | 1 | an applicable `Deny` anywhere | explicit deny |
/// | 2 | no trust `Allow` names the caller | implicit deny (resource) |
/// | 3 | federation | allow |
/// | 4 | same account, trust names the user / session / provider | allow |
/// | 5 | same account, trust names the caller's role | boundary and session policies must allow |
/// | 6 | otherwise (account-level trust, or another account) | identity ∩ boundary ∩ session must allow |
pub fn authorize_assume(policies: &Policies<'_>, req: &Request<'_>, federation: bool) -> Decision {
    let mut hits = caller_hits(policies, req);
    let mut reach: Option<TrustReach> = None;
    if let Some(trust) = policies.resource {
        for (si, s) in trust.statements.iter().enumerate() {
            if applies(trust, s, req, policies.boundary.is_some()) {
                let m = Matched {
                    source: Source::Resource,
                    policy: 0,
                    statement: si,
                    sid: s.sid.clone(),
                };
                match s.effect {
                    Effect::Deny => hits.deny.push(m),
                    Effect::Allow => {
                        reach = reach.max(Some(trust_reach(s, req.principal)));
                        hits.allow.push((m, Reach::Role));
                    }
                }
            }
        }
    }
    if !hits.deny.is_empty() {
        return Decision::ExplicitDeny { by: hits.deny };
    }
    let Some(reach) = reach else {
        return Decision::ImplicitDeny {
            missing: Missing::Resource,
        };
    };
    let same_account = req.resource_account == req.principal.account;
    if federation || (same_account && reach == TrustReach::Direct) {
        return allowed(hits);
    }
    let needs_identity = !(same_account && reach == TrustReach::Role);
    if needs_identity && !allows_from(&hits, Source::Identity) {
        return Decision::ImplicitDeny {
            missing: Missing::Identity,
        };
    }
    limit(hits, policies, req)
}
