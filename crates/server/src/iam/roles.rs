//! `CreateRole`, `GetRole`, `DeleteRole`, `ListRoles`, `UpdateRole`, `UpdateAssumeRolePolicy`.

use super::attachments::boundary_policy;
use super::tags::{initial_tags, tags_of};
use super::{Ctx, IamError, paginate};
use crate::crypto::random_bytes;
use crate::snapshot::Role;
use crate::store::{OwnerTable, RoleRow, Store, StoreError, Write};
use tessera_policy::{Policy, PolicyKind, non_whitespace_len};
use tessera_proto::iam::{Action, Page, Request, Response, RoleView};
use tessera_proto::{Arn, UniqueId, UniqueIdKind};

/// AWS's default quota for a trust policy, in non-whitespace characters.
const TRUST_POLICY_LIMIT: usize = 2048;

fn view(r: &Role, full: bool) -> RoleView {
    RoleView {
        path: r.path.clone(),
        name: r.name.clone(),
        id: r.unique_id.clone(),
        arn: r.arn.to_string(),
        created: super::time(r.created_at),
        trust_policy: r.trust_document.clone(),
        description: r.description.clone(),
        max_session_duration: r.max_session_duration,
        boundary: r.boundary.as_ref().filter(|_| full).map(|b| b.arn.clone()),
        tags: full.then(|| tags_of(&r.tags)),
    }
}

/// Validates a trust policy as IAM does on write: grammar, size, and that every user or role of
/// this account it names exists.
fn check_trust<S: Store>(ctx: &Ctx<'_, S>, document: &str) -> Result<(), IamError> {
    let policy = Policy::parse(document, PolicyKind::Trust)?;
    if non_whitespace_len(document) > TRUST_POLICY_LIMIT {
        return Err(IamError::Quota("ACLSizePerRole: 2048"));
    }
    let account = ctx.caller.account();
    for value in policy.aws_principals() {
        let Some(arn) = Arn::parse(value) else {
            continue;
        };
        if arn.service() != "iam" || arn.account() != account.to_string() {
            continue;
        }
        let name = arn.resource().rsplit('/').next().unwrap_or_default();
        let exists = if arn.resource().starts_with("user/") {
            ctx.snapshot
                .user_named(account, name)
                .is_some_and(|u| u.arn.as_str() == value)
        } else if arn.resource().starts_with("role/") {
            ctx.snapshot
                .role_named(account, name)
                .is_some_and(|r| r.arn.as_str() == value)
        } else {
            true
        };
        if !exists {
            return Err(IamError::InvalidPrincipal(value.to_owned()));
        }
    }
    Ok(())
}

pub(super) async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    request: &Request,
) -> Result<Response, IamError> {
    let Request::CreateRole {
        path,
        role_name,
        trust_policy,
        description,
        max_session_duration,
        permissions_boundary,
        tags,
    } = request
    else {
        return Err(IamError::NoSuchRole(String::new()));
    };
    if ctx
        .snapshot
        .role_named(ctx.caller.account(), role_name)
        .is_some()
    {
        return Err(IamError::RoleExists(role_name.clone()));
    }
    check_trust(ctx, trust_policy)?;
    let boundary = permissions_boundary
        .as_ref()
        .map(|arn| boundary_policy(ctx, arn).map(|p| p.arn.clone()))
        .transpose()?;
    let tag_rows = initial_tags(tags, "TagsPerRole: 50")?;
    let unique_id = UniqueId::generate(UniqueIdKind::Role, random_bytes()?).to_string();
    let row = RoleRow {
        unique_id: unique_id.clone(),
        account_id: ctx.caller.account().to_string(),
        name: role_name.clone(),
        path: path.clone(),
        trust_policy: trust_policy.clone(),
        description: description.clone(),
        max_session_duration: *max_session_duration,
        boundary,
        created_at: ctx.now.unix_timestamp(),
    };
    let written = ctx
        .write(&[
            Write::InsertRole(row),
            Write::SetTags {
                table: OwnerTable::Role,
                owner_id: unique_id,
                tags: tag_rows,
            },
        ])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => {
            return Err(IamError::RoleExists(role_name.clone()));
        }
        other => other?,
    }
    let snapshot = ctx.app.snapshot.load();
    let role = snapshot
        .role_named(ctx.caller.account(), role_name)
        .ok_or_else(|| IamError::NoSuchRole(role_name.clone()))?;
    Ok(Response::Role(Action::CreateRole, view(role, true)))
}

pub(super) fn get<S: Store>(ctx: &Ctx<'_, S>, name: &str) -> Result<Response, IamError> {
    let role = ctx.role(name)?;
    Ok(Response::Role(Action::GetRole, view(&role, true)))
}

pub(super) async fn delete<S: Store>(ctx: &Ctx<'_, S>, name: &str) -> Result<Response, IamError> {
    let role = ctx.role(name)?;
    if !role.inline.is_empty() {
        return Err(IamError::DeleteConflict("delete policies"));
    }
    if !role.attached.is_empty() {
        return Err(IamError::DeleteConflict("detach all policies"));
    }
    ctx.write(&[Write::DeleteRole {
        unique_id: role.unique_id.clone(),
    }])
    .await?;
    Ok(Response::Empty(Action::DeleteRole))
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    path_prefix: &str,
    page: &Page,
) -> Result<Response, IamError> {
    let roles = ctx.snapshot.roles_in(ctx.caller.account(), path_prefix);
    let (page_items, more) = paginate(roles, page, |r| r.name.clone())?;
    Ok(Response::Roles(
        page_items.iter().map(|r| view(r, false)).collect(),
        more,
    ))
}

pub(super) async fn update<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &str,
    description: Option<String>,
    max_session_duration: Option<u32>,
) -> Result<Response, IamError> {
    let role = ctx.role(name)?;
    ctx.write(&[Write::UpdateRole {
        unique_id: role.unique_id.clone(),
        description: description.or_else(|| role.description.clone()),
        max_session_duration: max_session_duration.unwrap_or(role.max_session_duration),
        trust_policy: role.trust_document.clone(),
    }])
    .await?;
    Ok(Response::EmptyResult(Action::UpdateRole))
}

pub(super) async fn update_trust<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &str,
    document: &str,
) -> Result<Response, IamError> {
    let role = ctx.role(name)?;
    check_trust(ctx, document)?;
    ctx.write(&[Write::UpdateRole {
        unique_id: role.unique_id.clone(),
        description: role.description.clone(),
        max_session_duration: role.max_session_duration,
        trust_policy: document.to_owned(),
    }])
    .await?;
    Ok(Response::Empty(Action::UpdateAssumeRolePolicy))
}

pub(super) async fn update_description<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &str,
    description: &str,
) -> Result<Response, IamError> {
    let role = ctx.role(name)?;
    ctx.write(&[Write::UpdateRole {
        unique_id: role.unique_id.clone(),
        description: Some(description.to_owned()),
        max_session_duration: role.max_session_duration,
        trust_policy: role.trust_document.clone(),
    }])
    .await?;
    let snapshot = ctx.app.snapshot.load();
    let updated = snapshot
        .role(&role.unique_id)
        .ok_or_else(|| IamError::NoSuchRole(name.to_owned()))?;
    Ok(Response::Role(
        Action::UpdateRoleDescription,
        view(updated, true),
    ))
}
