//! `AssumeRoleWithWebIdentity` (spec §3.3): an OIDC ID token, verified against the issuer's
//! keys and a provider registered in the role's account, buys a session of a role whose trust
//! policy names that provider.

use super::assume_role::resolve_role;
use super::session::{NewSession, check_policies, mint};
use super::{OpContext, OpError};
use crate::oidc::token::Unverified;
use crate::oidc::{Federation, WebIdentityError};
use crate::principal::{role_session_arn, role_session_id};
use crate::tokens::{Federated, Origin, PackedSession, SessionPrincipal};
use tessera_policy::{Decision, Policies, Principal, PrincipalKind, Request, authorize_assume};
use tessera_proto::sts::{AssumeRoleWithWebIdentity, Response, RoleSessionOut};
use tessera_proto::{AccountId, Arn};

/// The action every refusal of the trust policy names.
const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
/// The default session length.
const ONE_HOUR: u32 = 3600;

pub(super) async fn run(
    federation: &Federation,
    req: &AssumeRoleWithWebIdentity,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    if let Some(p) = &req.provider_id {
        return Err(WebIdentityError::ProviderId(p.clone()).into());
    }
    let token = Unverified::parse(&req.web_identity_token).map_err(WebIdentityError::from)?;
    let iss = token.issuer().map_err(WebIdentityError::from)?.to_owned();
    let role_arn = Arn::parse(&req.role_arn)
        .ok_or_else(|| OpError::Invalid(format!("{} is not a valid role ARN.", req.role_arn)))?;
    // Only providers of the role's own account are considered.
    let provider = AccountId::parse(role_arn.account())
        .zip(federation.issuer_path(&iss))
        .and_then(|(account, path)| ctx.snapshot.oidc_provider_for(account, path))
        .cloned()
        .ok_or_else(|| WebIdentityError::NoProvider(iss.clone()))?;
    let identity = federation
        .verify(token, &provider, ctx.now.unix_timestamp())
        .await?;
    let denied = || OpError::FederationDenied(ACTION);
    let role = resolve_role(&req.role_arn, ctx).ok_or_else(denied)?;

    // The request context of the trust evaluation (spec §3.0.10).
    let mut context = ctx.env.global_context();
    context.set("aws:FederatedProvider", provider.arn.as_str());
    context.set("sts:RoleSessionName", req.role_session_name.as_str());
    let claim_keys = vec![
        (
            format!("{}:aud", provider.url),
            vec![identity.audience.clone()],
        ),
        (
            format!("{}:sub", provider.url),
            vec![identity.subject.clone()],
        ),
        (format!("{}:amr", provider.url), identity.amr.clone()),
    ];
    for (key, values) in claim_keys.iter().filter(|(_, v)| !v.is_empty()) {
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
        arn: provider.arn.clone(),
        account: provider.account.to_string(),
        id: None,
        role_arn: None,
        federated: Some(provider.arn.clone()),
    };
    let mut actions = vec![ACTION];
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
            return Err(denied());
        }
    }

    let requested = req.duration.map(|d| d.get());
    if requested.is_some_and(|d| d > role.max_session_duration) {
        return Err(OpError::Invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    check_policies(
        ctx.snapshot,
        role.account,
        req.policy.as_ref(),
        &req.policy_arns,
    )?;
    let (credentials, packed_policy_size) = mint(
        ctx,
        NewSession {
            account: role.account,
            principal: SessionPrincipal::Role {
                unique_id: role.unique_id.clone(),
                session_name: req.role_session_name.clone(),
            },
            origin: Origin::AssumeRoleWithWebIdentity,
            secs: requested.unwrap_or(ONE_HOUR),
            mfa_authenticated_at: None,
            source_identity: identity.source_identity.clone(),
            chained: false,
            parent_key: None,
            federated: Some(Box::new(Federated {
                provider: provider.arn.clone(),
                keys: claim_keys
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .collect(),
            })),
            packed: PackedSession {
                policy: req.policy.clone(),
                policy_arns: req.policy_arns.clone(),
                tags: identity.tags,
            },
        },
    )?;
    let partition = ctx.snapshot.partition.as_str();
    Ok(Response::WebIdentity {
        session: Box::new(RoleSessionOut {
            credentials,
            assumed_role_id: role_session_id(&role, &req.role_session_name),
            arn: role_session_arn(partition, &role, &req.role_session_name),
            packed_policy_size,
            source_identity: identity.source_identity,
        }),
        subject: identity.subject,
        audience: identity.audience,
        provider: provider.arn.clone(),
    })
}
