//! `PutUserPolicy`, `GetUserPolicy`, `DeleteUserPolicy`, `ListUserPolicies`.

use super::{Ctx, IamError, paginate};
use crate::store::{Store, UserPolicyRow, Write};
use tessera_policy::{Policy, PolicyKind, non_whitespace_len};
use tessera_proto::iam::{Action, Page, Response};

/// AWS's limit on the inline policies of one user, together, in non-whitespace characters.
const USER_INLINE_LIMIT: usize = 2048;

pub(super) async fn put<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    policy_name: &str,
    document: &str,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    Policy::parse(document, PolicyKind::Identity)?;
    let others: usize = user
        .inline
        .iter()
        .filter(|p| p.name != policy_name)
        .map(|p| non_whitespace_len(&p.document))
        .sum();
    if others + non_whitespace_len(document) > USER_INLINE_LIMIT {
        return Err(IamError::InlinePolicySize(user.name.clone()));
    }
    let row = UserPolicyRow {
        user_id: user.unique_id.clone(),
        name: policy_name.to_owned(),
        document: document.to_owned(),
    };
    ctx.write(&[Write::PutUserPolicy(row)]).await?;
    Ok(Response::Empty(Action::PutUserPolicy))
}

pub(super) fn get<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    policy_name: &str,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let policy = user
        .inline
        .iter()
        .find(|p| p.name == policy_name)
        .ok_or_else(|| IamError::NoSuchUserPolicy(policy_name.to_owned()))?;
    Ok(Response::UserPolicy {
        user_name: user.name.clone(),
        policy_name: policy.name.clone(),
        document: policy.document.clone(),
    })
}

pub(super) async fn delete<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    policy_name: &str,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    if !user.inline.iter().any(|p| p.name == policy_name) {
        return Err(IamError::NoSuchUserPolicy(policy_name.to_owned()));
    }
    ctx.write(&[Write::DeleteUserPolicy {
        user_id: user.unique_id.clone(),
        name: policy_name.to_owned(),
    }])
    .await?;
    Ok(Response::Empty(Action::DeleteUserPolicy))
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    page: &Page,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let names: Vec<String> = user.inline.iter().map(|p| p.name.clone()).collect();
    let (page_items, more) = paginate(names, page, Clone::clone)?;
    Ok(Response::PolicyNames(page_items, more))
}
