//! `GetSessionToken` (spec §3.10): temporary credentials for the calling user or root, with no
//! policy evaluation.

use super::session::{NewSession, long_term_duration, mint, verify_mfa};
use super::{OpContext, OpError};
use crate::principal::{Caller, Identity};
use crate::tokens::{Origin, PackedSession, SessionPrincipal};
use tessera_proto::sts::{GetSessionToken, Response};

pub(super) fn run(
    caller: &Caller,
    req: &GetSessionToken,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    let mfa_authenticated_at = verify_mfa(ctx, caller, req.mfa.as_ref())?;
    let principal = match &caller.identity {
        Identity::User(u) => SessionPrincipal::User {
            unique_id: u.unique_id.clone(),
        },
        // Sessions never get here (authorization refuses them); the root is what remains.
        Identity::Root(_) | Identity::RoleSession { .. } | Identity::FederatedUser { .. } => {
            SessionPrincipal::Root
        }
    };
    let (credentials, _) = mint(
        ctx,
        NewSession {
            account: caller.account(),
            principal,
            origin: Origin::GetSessionToken,
            secs: long_term_duration(&caller.identity, req.duration.map(|d| d.get())),
            mfa_authenticated_at,
            source_identity: None,
            chained: false,
            parent_key: caller.root_key(),
            federated: caller.federated().cloned().map(Box::new),
            packed: PackedSession::default(),
        },
    )?;
    Ok(Response::SessionToken(credentials))
}
