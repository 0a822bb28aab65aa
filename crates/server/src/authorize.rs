//! Authorization: each request declares what it needs as data ([`Requirement`]); this module
//! checks it once, before the action runs (STYLE.md #3), and only it can make an [`Authorized`].

use crate::principal::{Caller, Credential, Identity};
use tessera_policy::{Decision, Request as PolicyRequest, evaluate};
use tessera_proto::sts::Request;

/// Which kinds of credentials may call an action at all (spec §2.11), before any policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerRule {
    /// Every kind of credentials.
    Anyone,
    /// Long-term credentials only; sessions get `AccessDenied` with this message.
    LongTermOnly(&'static str),
}

/// What a request needs: a caller rule, and optionally an IAM permission on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Who may call at all.
    pub callers: CallerRule,
    /// `(action, resource)` to evaluate against the caller's identity policies; `None` for
    /// actions AWS never evaluates policies for (GetCallerIdentity, GetSessionToken).
    pub permission: Option<(&'static str, String)>,
}

/// The requirement of each STS request.
pub fn requirement(request: &Request) -> Requirement {
    match request {
        Request::GetCallerIdentity => Requirement {
            callers: CallerRule::Anyone,
            permission: None,
        },
        Request::GetSessionToken(_) => Requirement {
            callers: CallerRule::LongTermOnly(
                "Cannot call GetSessionToken with session credentials",
            ),
            permission: None,
        },
        Request::GetAccessKeyInfo(_) => Requirement {
            callers: CallerRule::LongTermOnly(
                "Cannot call GetAccessKeyInfo with session credentials",
            ),
            permission: Some(("sts:GetAccessKeyInfo", "*".to_owned())),
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
        action: &'static str,
        /// Resource ARN.
        resource: String,
        /// AWS's explanation suffix.
        reason: String,
    },
}

/// A request cleared to run: it can only be built by [`authorize`].
#[derive(Debug)]
pub struct Authorized {
    /// The caller.
    pub caller: Caller,
    /// The request.
    pub request: Request,
}

/// Checks a request's requirement against the caller.
pub fn authorize(
    caller: Caller,
    request: Request,
    partition: &str,
) -> Result<Authorized, AuthzError> {
    let need = requirement(&request);
    if let CallerRule::LongTermOnly(message) = need.callers
        && matches!(caller.credential, Credential::Session(_))
    {
        return Err(AuthzError::CallerKind(message));
    }
    if let Some((action, resource)) = need.permission {
        // The account root is not subject to identity policies.
        if let Identity::User(user) = &caller.identity {
            let decision = evaluate(
                &user.policies,
                &PolicyRequest {
                    action,
                    resource: &resource,
                },
            );
            let reason = match decision {
                Decision::Allow { .. } => None,
                Decision::ExplicitDeny { .. } => {
                    Some("with an explicit deny in an identity-based policy".to_owned())
                }
                Decision::ImplicitDeny => Some(format!(
                    "because no identity-based policy allows the {action} action"
                )),
            };
            if let Some(reason) = reason {
                return Err(AuthzError::NotAuthorized {
                    caller: caller.arn(partition),
                    action,
                    resource,
                    reason,
                });
            }
        }
    }
    Ok(Authorized { caller, request })
}
