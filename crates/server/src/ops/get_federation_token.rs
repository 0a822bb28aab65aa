//! `GetFederationToken` (spec §3.9): a federated user whose permissions are the caller's ∩ the
//! session policies (none without them), which can call only GetCallerIdentity.

use super::session::{NewSession, check_policies, check_tags, long_term_duration, mint};
use super::{OpContext, OpError};
use crate::principal::{Caller, Identity, federated_user_arn};
use crate::tokens::{Origin, PackedSession, SessionPrincipal};
use tessera_proto::sts::{GetFederationToken, Response};

pub(super) fn run(
    caller: &Caller,
    req: &GetFederationToken,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    check_policies(
        ctx.snapshot,
        caller.account(),
        req.policy.as_ref(),
        &req.policy_arns,
    )?;
    check_tags(&req.tags, &[])?;
    let parent = match &caller.identity {
        Identity::User(u) => Some(u.unique_id.clone()),
        Identity::Root(_) | Identity::RoleSession { .. } | Identity::FederatedUser { .. } => None,
    };
    let account = caller.account();
    let (credentials, packed_policy_size) = mint(
        ctx,
        NewSession {
            account,
            principal: SessionPrincipal::FederatedUser {
                parent,
                name: req.name.clone(),
            },
            origin: Origin::GetFederationToken,
            secs: long_term_duration(&caller.identity, req.duration.map(|d| d.get())),
            mfa_authenticated_at: None,
            source_identity: None,
            chained: false,
            parent_key: caller.root_key(),
            federated: caller.federated().cloned().map(Box::new),
            packed: PackedSession {
                policy: req.policy.clone(),
                policy_arns: req.policy_arns.clone(),
                tags: req
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone(), false))
                    .collect(),
            },
        },
    )?;
    Ok(Response::FederationToken {
        credentials,
        federated_user_id: format!("{account}:{}", req.name),
        arn: federated_user_arn(&ctx.snapshot.partition, account, &req.name),
        packed_policy_size,
    })
}
