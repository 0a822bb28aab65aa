//! What `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` share once their credential
//! (an ID token, a SAML response) is verified: the trust evaluation with the provider as
//! principal (spec §3.0.9–3.0.10), the duration and session-policy rules, and the minting.

use super::session::{NewSession, check_policies, mint};
use super::{OpContext, OpError};
use crate::claims::SessionTags;
use crate::principal::{role_session_arn, role_session_id};
use crate::snapshot::Role;
use crate::tokens::{Federated, Origin, PackedSession, SessionPrincipal};
use tessera_policy::{Decision, Policies, Principal, PrincipalKind, Request, authorize_assume};
use tessera_proto::AccountId;
use tessera_proto::sts::RoleSessionOut;

/// A verified federated identity, as the trust policy and the session see it.
pub(super) struct Identity {
    /// The IAM provider's ARN (`aws:FederatedProvider`, the trust policy's `Federated`).
    pub provider_arn: String,
    /// The provider's account.
    pub provider_account: AccountId,
    /// `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRoleWithSAML`.
    pub action: &'static str,
    /// The originating action, recorded in the token.
    pub origin: Origin,
    /// The session name.
    pub session_name: String,
    /// Provider condition keys (`<issuer>:sub`, `saml:aud`, …) with their values; keys with
    /// no value are left out.
    pub keys: Vec<(String, Vec<String>)>,
    /// Session tags `(key, value, transitive)`.
    pub tags: SessionTags,
    /// Transitive tag keys as the provider listed them.
    pub transitive_tag_keys: Vec<String>,
    /// The source identity, when the provider set one.
    pub source_identity: Option<String>,
}

/// What the caller asked for besides the role.
pub(super) struct Ask<'r> {
    /// `DurationSeconds` as requested (checked against the role's maximum).
    pub requested: Option<u32>,
    /// The session length after the provider's own caps.
    pub secs: u32,
    /// Inline session policy.
    pub policy: Option<&'r String>,
    /// Managed session policy ARNs.
    pub policy_arns: &'r [String],
}

/// Evaluates the role's trust policy for a federated identity and mints the session.
pub(super) fn assume(
    ctx: &OpContext<'_>,
    role: &Role,
    identity: Identity,
    ask: Ask<'_>,
) -> Result<RoleSessionOut, OpError> {
    let mut context = ctx.env.global_context();
    context.set("aws:FederatedProvider", identity.provider_arn.as_str());
    context.set("sts:RoleSessionName", identity.session_name.as_str());
    for (key, values) in &identity.keys {
        context.set_multi(key, values.clone());
    }
    if let Some(si) = &identity.source_identity {
        context.set("sts:SourceIdentity", si.as_str());
    }
    if !identity.tags.is_empty() {
        for (k, v, _) in &identity.tags {
            context.set(&format!("aws:RequestTag/{k}"), v.as_str());
        }
        context.set_multi(
            "aws:TagKeys",
            identity.tags.iter().map(|(k, _, _)| k.clone()).collect(),
        );
    }
    if !identity.transitive_tag_keys.is_empty() {
        context.set_multi(
            "sts:TransitiveTagKeys",
            identity.transitive_tag_keys.clone(),
        );
    }
    let mut resource_tags = role.tags.clone();
    for (k, v, _) in identity.tags.iter().filter(|(_, _, t)| *t) {
        resource_tags.retain(|(rk, _)| !rk.eq_ignore_ascii_case(k));
        resource_tags.push((k.clone(), v.clone()));
    }
    for (k, v) in &resource_tags {
        context.set(&format!("aws:ResourceTag/{k}"), v.as_str());
        context.set(&format!("iam:ResourceTag/{k}"), v.as_str());
    }

    let principal = Principal {
        kind: PrincipalKind::WebIdentity,
        arn: identity.provider_arn.clone(),
        account: identity.provider_account.to_string(),
        id: None,
        role_arn: None,
        federated: Some(identity.provider_arn.clone()),
    };
    let mut actions = vec![identity.action];
    if !identity.tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if identity.source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    let role_account = role.account.to_string();
    for action in actions {
        let policies = Policies {
            identity: Vec::new(),
            resource: Some(&role.trust),
            boundary: None,
            session: None,
        };
        let request = Request {
            principal: &principal,
            action,
            resource: role.arn.as_str(),
            resource_account: &role_account,
            context: &context,
        };
        if !matches!(
            authorize_assume(&policies, &request, true),
            Decision::Allow { .. }
        ) {
            return Err(OpError::FederationDenied(identity.action));
        }
    }

    if ask.requested.is_some_and(|d| d > role.max_session_duration) {
        return Err(OpError::Invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    check_policies(ctx.snapshot, role.account, ask.policy, ask.policy_arns)?;
    let (credentials, packed_policy_size) = mint(
        ctx,
        NewSession {
            account: role.account,
            principal: SessionPrincipal::Role {
                unique_id: role.unique_id.clone(),
                session_name: identity.session_name.clone(),
            },
            origin: identity.origin,
            secs: ask.secs,
            mfa_authenticated_at: None,
            source_identity: identity.source_identity.clone(),
            chained: false,
            parent_key: None,
            federated: Some(Box::new(Federated {
                provider: identity.provider_arn,
                keys: identity.keys,
            })),
            packed: PackedSession {
                policy: ask.policy.cloned(),
                policy_arns: ask.policy_arns.to_vec(),
                tags: identity.tags,
            },
        },
    )?;
    let partition = ctx.snapshot.partition.as_str();
    Ok(RoleSessionOut {
        credentials,
        assumed_role_id: role_session_id(role, &identity.session_name),
        arn: role_session_arn(partition, role, &identity.session_name),
        packed_policy_size,
        source_identity: identity.source_identity,
    })
}
