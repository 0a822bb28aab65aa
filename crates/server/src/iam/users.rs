//! `CreateUser`, `GetUser`, `DeleteUser`, `ListUsers`, `TagUser`, `UntagUser`, `ListUserTags`.

use super::attachments::boundary_policy;
use super::tags::{initial_tags, tags_of};
use super::{Ctx, IamError, paginate, target_name, time};
use crate::crypto::random_bytes;
use crate::snapshot::User;
use crate::store::{OwnerTable, Store, StoreError, UserRow, Write};
use tessera_proto::iam::{Action, Page, Request, Response, UserView};
use tessera_proto::{UniqueId, UniqueIdKind};

/// The user as IAM shows it; `full` for the actions that include tags and the boundary.
pub(crate) fn view(u: &User, full: bool) -> UserView {
    UserView {
        path: u.path.clone(),
        name: u.name.clone(),
        id: u.unique_id.clone(),
        arn: u.arn.to_string(),
        created: time(u.created_at),
        boundary: u.boundary.as_ref().filter(|_| full).map(|b| b.arn.clone()),
        tags: full.then(|| tags_of(&u.tags)),
    }
}

pub(super) async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    request: &Request,
) -> Result<Response, IamError> {
    let Request::CreateUser {
        path,
        user_name,
        permissions_boundary,
        tags,
    } = request
    else {
        return Err(IamError::UserNameRequired);
    };
    let user_name = user_name.clone();
    if ctx
        .snapshot
        .user_named(ctx.caller.account(), &user_name)
        .is_some()
    {
        return Err(IamError::UserExists(user_name));
    }
    let boundary = permissions_boundary
        .as_ref()
        .map(|arn| boundary_policy(ctx, arn).map(|p| p.arn.clone()))
        .transpose()?;
    let tag_rows = initial_tags(tags, "TagsPerUser: 50")?;
    let unique_id = UniqueId::generate(UniqueIdKind::User, random_bytes()?).to_string();
    let row = UserRow {
        unique_id: unique_id.clone(),
        account_id: ctx.caller.account().to_string(),
        name: user_name.clone(),
        path: path.clone(),
        boundary,
        created_at: ctx.now.unix_timestamp(),
    };
    let written = ctx
        .write(&[
            Write::InsertUser(row),
            Write::SetTags {
                table: OwnerTable::User,
                owner_id: unique_id.clone(),
                tags: tag_rows,
            },
        ])
        .await;
    match written {
        // Created concurrently under the same name (case-insensitively).
        Err(IamError::Store(StoreError::Conflict)) => return Err(IamError::UserExists(user_name)),
        other => other?,
    }
    let snapshot = ctx.app.snapshot.load();
    let user = snapshot
        .user(&unique_id)
        .ok_or_else(|| IamError::NoSuchUser(user_name.clone()))?;
    Ok(Response::User(Action::CreateUser, view(user, true)))
}

pub(super) fn get<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
) -> Result<Response, IamError> {
    let name = target_name(ctx.caller, user_name)?;
    let user = ctx.user(&name)?;
    Ok(Response::User(Action::GetUser, view(&user, true)))
}

pub(super) async fn delete<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    if !user.key_ids.is_empty() {
        return Err(IamError::DeleteConflict("delete access keys"));
    }
    if !user.inline.is_empty() {
        return Err(IamError::DeleteConflict("delete policies"));
    }
    if !user.attached.is_empty() {
        return Err(IamError::DeleteConflict("detach all policies"));
    }
    if !user.groups.is_empty() {
        return Err(IamError::DeleteConflict("remove users from group"));
    }
    if !ctx.snapshot.mfa_devices_of(&user.unique_id).is_empty() {
        return Err(IamError::DeleteConflict("delete MFA device"));
    }
    ctx.write(&[Write::DeleteUser {
        unique_id: user.unique_id.clone(),
    }])
    .await?;
    Ok(Response::Empty(Action::DeleteUser))
}

/// `UpdateUser`: the id stays, so keys, groups, attachments and devices follow the user.
pub(super) async fn update<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    new_path: Option<&String>,
    new_name: Option<&String>,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let name = new_name.cloned().unwrap_or_else(|| user.name.clone());
    if ctx
        .snapshot
        .user_named(ctx.caller.account(), &name)
        .is_some_and(|other| other.unique_id != user.unique_id)
    {
        return Err(IamError::UserExists(name));
    }
    let written = ctx
        .write(&[Write::Rename {
            table: OwnerTable::User,
            unique_id: user.unique_id.clone(),
            name: name.clone(),
            path: new_path.cloned().unwrap_or_else(|| user.path.clone()),
        }])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => Err(IamError::UserExists(name)),
        other => other.map(|()| Response::Empty(Action::UpdateUser)),
    }
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    path_prefix: &str,
    page: &Page,
) -> Result<Response, IamError> {
    let users = ctx.snapshot.users_in(ctx.caller.account(), path_prefix);
    let (page_items, more) = paginate(users, page, |u| u.name.clone())?;
    Ok(Response::Users(
        page_items.iter().map(|u| view(u, false)).collect(),
        more,
    ))
}
