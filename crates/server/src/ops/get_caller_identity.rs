//! `GetCallerIdentity`: who am I. Needs no permission (spec §3.7).

use super::OpContext;
use crate::principal::Caller;
use tessera_proto::sts::Response;

pub(super) fn run(caller: &Caller, ctx: &OpContext<'_>) -> Response {
    Response::CallerIdentity {
        arn: caller.arn(&ctx.snapshot.partition),
        user_id: caller.user_id(),
        account: caller.account(),
    }
}
