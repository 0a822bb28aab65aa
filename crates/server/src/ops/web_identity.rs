//! `AssumeRoleWithWebIdentity` (spec §3.3): an OIDC ID token, verified against the issuer's
//! keys and a provider registered in the role's account, buys a session of a role whose trust
//! policy names that provider.

use super::assume_role::resolve_role;
use super::{OpContext, OpError, federated};
use crate::oidc::token::Unverified;
use crate::oidc::{Federation, WebIdentityError};
use crate::tokens::Origin;
use tessera_proto::sts::{AssumeRoleWithWebIdentity, Response};
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
    let role = resolve_role(&role_arn, ctx).ok_or(OpError::FederationDenied(ACTION))?;
    let keys = [
        (
            format!("{}:aud", provider.url),
            vec![identity.audience.clone()],
        ),
        (
            format!("{}:sub", provider.url),
            vec![identity.subject.clone()],
        ),
        (format!("{}:amr", provider.url), identity.amr.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let session = federated::assume(
        ctx,
        role,
        federated::Identity {
            provider_arn: provider.arn.clone(),
            provider_account: provider.account,
            action: ACTION,
            origin: Origin::AssumeRoleWithWebIdentity,
            session_name: req.role_session_name.clone(),
            keys,
            tags: identity.tags,
            transitive_tag_keys: identity.transitive_tag_keys,
            source_identity: identity.source_identity,
        },
        federated::Ask {
            requested: req.duration.map(|d| d.get()),
            secs: req.duration.map_or(ONE_HOUR, |d| d.get()),
            policy: req.policy.as_ref(),
            policy_arns: &req.policy_arns,
        },
    )?;
    Ok(Response::WebIdentity {
        session: Box::new(session),
        subject: identity.subject,
        audience: identity.audience,
        provider: provider.arn.clone(),
    })
}
