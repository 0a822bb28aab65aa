//! Authorization: each request declares what it needs as data ([`Requirement`]); this module
//! checks it once, before the action runs (STYLE.md #3), and only it can make an [`Authorized`].

use crate::principal::{Caller, Credential, Identity, RequestEnv, federated_user_arn};
use tessera_policy::{Decision, Missing, Source};
use tessera_proto::sts::Request;

/// Which kinds of credentials may call an action at all (spec §2.11), before any policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerRule {
    /// Every kind of credentials.
    Anyone,
    /// Long-term credentials only; sessions get `AccessDenied` with this message.
    LongTermOnly(&'static str),
    /// Anyone but the account root (AssumeRole: `Roles may not be assumed by root accounts.`).
    NotRoot(&'static str),
    /// Anything but `GetSessionToken` sessions ("user sessions", spec §2.11).
    NoUserSessions(&'static str),
    /// Anything but `GetSessionToken` sessions without MFA (the IAM API, spec §2.11).
    NoUserSessionsWithoutMfa(&'static str),
}

/// What a request needs: a caller rule, and the IAM permissions (action on resource) it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Who may call at all.
    pub callers: CallerRule,
    /// `(action, resource)` pairs that the caller's policies must each allow; empty for
    /// actions AWS never evaluates policies for (GetCallerIdentity, GetSessionToken).
    pub permissions: Vec<(String, String)>,
}

/// The requirement of each STS request by `caller`.
pub fn requirement(request: &Request, caller: &Caller, partition: &str) -> Requirement {
    match request {
        Request::GetFederationToken(r) => {
            let resource = federated_user_arn(partition, caller.account(), &r.name);
            let mut permissions = vec![("sts:GetFederationToken".to_owned(), resource.clone())];
            if !r.tags.is_empty() {
                permissions.push(("sts:TagSession".to_owned(), resource));
            }
            Requirement {
                callers: CallerRule::LongTermOnly(
                    "Cannot call GetFederationToken with session credentials",
                ),
                permissions,
            }
        }
        // The trust-policy decision needs the role, so it is made by the operation itself
        // (ops/assume_role.rs), with the same policy engine.
        Request::AssumeRole(_) => Requirement {
            callers: CallerRule::NotRoot("Roles may not be assumed by root accounts."),
            permissions: Vec::new(),
        },
        Request::GetCallerIdentity => Requirement {
            callers: CallerRule::Anyone,
            permissions: Vec::new(),
        },
        Request::GetSessionToken(_) => Requirement {
            callers: CallerRule::LongTermOnly(
                "Cannot call GetSessionToken with session credentials",
            ),
            permissions: Vec::new(),
        },
        Request::GetAccessKeyInfo(_) => Requirement {
            callers: CallerRule::NoUserSessions(
                "Cannot call GetAccessKeyInfo with session credentials",
            ),
            permissions: vec![("sts:GetAccessKeyInfo".to_owned(), "*".to_owned())],
        },
    }
}

/// Why authorization failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The kind of credentials may not call the action at all.
    #[error("{0}")]
    CallerKind(&'static str),
    /// The policies do not allow it.
    #[error(
        "User: {caller} is not authorized to perform: {action} on resource: {resource} {reason}"
    )]
    NotAuthorized {
        /// Caller ARN.
        caller: String,
        /// IAM action.
        action: String,
        /// Resource ARN.
        resource: String,
        /// AWS's explanation suffix.
        reason: String,
    },
}

/// A request cleared to run: it can only be built by [`authorize`].
#[derive(Debug)]
pub struct Authorized<'s> {
    /// The caller.
    pub caller: Caller<'s>,
    /// The request.
    pub request: Request,
}

/// AWS's explanation of a denial: "with an explicit deny in …" / "because no … allows …".
pub(crate) fn denial_reason(decision: &Decision, action: &str) -> Option<String> {
    let kind = |src: Source| match src {
        Source::Identity => "an identity-based policy",
        Source::Resource => "a resource-based policy",
        Source::Boundary => "a permissions boundary",
        Source::Session => "a session policy",
    };
    match decision {
        Decision::Allow { .. } => None,
        Decision::ExplicitDeny { by } => Some(format!(
            "with an explicit deny in {}",
            kind(by.first().map_or(Source::Identity, |m| m.source))
        )),
        Decision::ImplicitDeny { missing } => {
            let which = match missing {
                Missing::Identity => "identity-based policy",
                Missing::Resource => "resource-based policy",
                Missing::Boundary => "permissions boundary",
                Missing::Session => "session policy",
            };
            Some(format!("because no {which} allows the {action} action"))
        }
    }
}

/// Checks a requirement against the caller: the caller rule first, then the policies.
pub fn check(caller: &Caller, need: Requirement, env: &RequestEnv<'_>) -> Result<(), AuthzError> {
    let refused = match (need.callers, &caller.credential) {
        (CallerRule::NotRoot(message), _) => {
            matches!(caller.identity, Identity::Root(_)).then_some(message)
        }
        (CallerRule::Anyone, _) | (_, Credential::LongTerm { .. }) => None,
        (CallerRule::LongTermOnly(message), Credential::Session(_)) => Some(message),
        (CallerRule::NoUserSessions(message), Credential::Session(_)) => {
            caller.is_user_session().then_some(message)
        }
        (CallerRule::NoUserSessionsWithoutMfa(message), Credential::Session(claims)) => {
            (caller.is_user_session() && claims.mfa_authenticated_at.is_none()).then_some(message)
        }
    };
    if let Some(message) = refused {
        return Err(AuthzError::CallerKind(message));
    }
    // Federated users may call GetCallerIdentity and nothing else (spec §2.11).
    if caller.is_federated() && need.callers != CallerRule::Anyone {
        return Err(AuthzError::CallerKind(
            "Federated users may only call GetCallerIdentity.",
        ));
    }
    // The account root is not subject to identity policies.
    if matches!(caller.identity, Identity::Root(_)) {
        return Ok(());
    }
    let account = caller.account();
    for (action, resource) in need.permissions {
        let decision = caller.decide(env, &action, &resource, account.as_str(), None);
        if let Some(reason) = denial_reason(&decision, &action) {
            return Err(AuthzError::NotAuthorized {
                caller: caller.arn(env.partition),
                action,
                resource,
                reason,
            });
        }
    }
    Ok(())
}

/// Authorizes an STS request: only this function makes an [`Authorized`].
pub fn authorize<'s>(
    caller: Caller<'s>,
    request: Request,
    env: &RequestEnv<'_>,
) -> Result<Authorized<'s>, AuthzError> {
    check(&caller, requirement(&request, &caller, env.partition), env)?;
    Ok(Authorized { caller, request })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_policy::Matched;

    #[test]
    fn denial_messages_follow_aws() {
        let by = vec![Matched {
            source: Source::Boundary,
            policy: 0,
            statement: 0,
            sid: None,
        }];
        assert_eq!(
            denial_reason(&Decision::ExplicitDeny { by }, "sts:X").unwrap(),
            "with an explicit deny in a permissions boundary"
        );
        assert_eq!(
            denial_reason(
                &Decision::ImplicitDeny {
                    missing: Missing::Identity
                },
                "sts:X"
            )
            .unwrap(),
            "because no identity-based policy allows the sts:X action"
        );
        assert!(denial_reason(&Decision::Allow { by: vec![] }, "sts:X").is_none());
    }
}
