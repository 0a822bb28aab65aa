//! `Put/Get/Delete/List` `UserPolicy` and `RolePolicy`: inline identity policies of users and roles.

use super::{Ctx, Entity, IamError, paginate};
use crate::store::{Store, Write};
use tessera_policy::{Policy, PolicyKind, non_whitespace_len};
use tessera_proto::iam::{Owner, Page, Response};

fn missing(entity: &Entity, name: &str) -> IamError {
    IamError::NoSuchInlinePolicy(entity.kind_word(), name.to_owned())
}

pub(super) async fn put<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    name: &str,
    document: &str,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    Policy::parse(document, PolicyKind::Identity)?;
    let others: usize = entity
        .inline()
        .iter()
        .filter(|p| p.name != name)
        .map(|p| non_whitespace_len(&p.document))
        .sum();
    let limit = entity.inline_limit();
    if others + non_whitespace_len(document) > limit {
        return Err(IamError::InlinePolicySize {
            kind: entity.kind_word(),
            name: entity.name().to_owned(),
            limit,
        });
    }
    ctx.write(&[Write::PutPolicy {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        name: name.to_owned(),
        document: document.to_owned(),
    }])
    .await?;
    Ok(Response::Empty(ctx.action))
}

pub(super) fn get<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    name: &str,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    let policy = entity
        .inline()
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| missing(&entity, name))?;
    Ok(Response::InlinePolicy {
        action: ctx.action,
        owner: Owner {
            kind: owner.kind,
            name: entity.name().to_owned(),
        },
        policy_name: policy.name.clone(),
        document: policy.document.clone(),
    })
}

pub(super) async fn delete<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    name: &str,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    if !entity.inline().iter().any(|p| p.name == name) {
        return Err(missing(&entity, name));
    }
    ctx.write(&[Write::DeletePolicy {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        name: name.to_owned(),
    }])
    .await?;
    Ok(Response::Empty(ctx.action))
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    page: &Page,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    let names: Vec<String> = entity.inline().iter().map(|p| p.name.clone()).collect();
    let (page_items, more) = paginate(names, page, Clone::clone)?;
    Ok(Response::PolicyNames(ctx.action, page_items, more))
}
