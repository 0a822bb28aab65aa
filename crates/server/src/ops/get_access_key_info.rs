//! `GetAccessKeyInfo`: which account owns a key (spec §3.6). Keys we hold answer from the
//! store; any other well-formed id answers from the account encoded in it, as AWS does, so the
//! answer never reveals whether a key exists or is active.

use super::{OpContext, OpError};
use crate::snapshot::KeyOwner;
use tessera_proto::AccessKeyId;
use tessera_proto::sts::{GetAccessKeyInfo, Response};

pub(super) fn run(req: &GetAccessKeyInfo, ctx: &OpContext<'_>) -> Result<Response, OpError> {
    if let Some(key) = ctx.snapshot.key(&req.access_key_id) {
        let account = match &key.owner {
            KeyOwner::User(u) => u.account,
            KeyOwner::Root(a) => *a,
        };
        return Ok(Response::AccessKeyInfo { account });
    }
    AccessKeyId::parse(&req.access_key_id)
        .and_then(|id| id.account())
        .map(|account| Response::AccessKeyInfo { account })
        .ok_or_else(|| OpError::InvalidAccessKeyId(req.access_key_id.clone()))
}
