//! Groups and their members: `CreateGroup`, `GetGroup`, `UpdateGroup`, `DeleteGroup`,
//! `ListGroups`, `AddUserToGroup`, `RemoveUserFromGroup`, `ListGroupsForUser`. A member's
//! permissions include the group's policies from the next request on.

use super::{Caller, Ctx, IamError, Snapshot, group_arn, paginate, user_arn, users};
use crate::crypto::random_bytes;
use crate::snapshot::Group;
use crate::store::{GroupRow, OwnerTable, Store, StoreError, Write};
use std::sync::Arc;
use tessera_proto::iam::{Action, GroupRequest, GroupResponse, GroupView, Response};
use tessera_proto::{UniqueId, UniqueIdKind};

/// AWS's default quota of groups per account.
const MAX_GROUPS: usize = 300;
/// AWS's quota of groups one user may be in.
const MAX_GROUPS_PER_USER: usize = 10;

fn view(g: &Group) -> GroupView {
    GroupView {
        path: g.path.clone(),
        name: g.name.clone(),
        id: g.unique_id.clone(),
        arn: g.arn.to_string(),
        created: super::time(g.created_at),
    }
}

/// The resource a group request acts on.
pub(super) fn resource(g: &GroupRequest, snapshot: &Snapshot, caller: &Caller) -> String {
    match g {
        GroupRequest::Create { path, name } => group_arn(snapshot, caller, path, name),
        GroupRequest::Get { name, .. }
        | GroupRequest::Update { name, .. }
        | GroupRequest::Delete { name }
        | GroupRequest::Membership { group: name, .. } => group_arn(snapshot, caller, "/", name),
        GroupRequest::List { path_prefix, .. } => format!(
            "arn:{}:iam::{}:group{path_prefix}",
            snapshot.partition,
            caller.account()
        ),
        GroupRequest::ForUser { user, .. } => user_arn(snapshot, caller, "/", user),
    }
}

/// Runs a group request.
pub(super) async fn execute<S: Store>(
    ctx: &Ctx<'_, S>,
    g: &GroupRequest,
) -> Result<Response, IamError> {
    let account = ctx.caller.account();
    let response = match g {
        GroupRequest::Create { path, name } => create(ctx, path, name).await?,
        GroupRequest::Get { name, page } => {
            let group = ctx.group(name)?;
            let mut members: Vec<_> = group
                .member_ids
                .iter()
                .filter_map(|id| ctx.snapshot.user(id))
                .collect();
            members.sort_by(|a, b| a.name.cmp(&b.name));
            let (members, more) = paginate(members, page, |u| u.name.clone())?;
            GroupResponse::WithUsers(
                view(&group),
                members.iter().map(|u| users::view(u, false)).collect(),
                more,
            )
        }
        GroupRequest::Update {
            name,
            new_path,
            new_name,
        } => {
            let group = ctx.group(name)?;
            let target = new_name.clone().unwrap_or_else(|| group.name.clone());
            if ctx
                .snapshot
                .group_named(account, &target)
                .is_some_and(|other| other.unique_id != group.unique_id)
            {
                return Err(IamError::GroupExists(target));
            }
            let written = ctx
                .write(&[Write::Rename {
                    table: OwnerTable::Group,
                    unique_id: group.unique_id.clone(),
                    name: target.clone(),
                    path: new_path.clone().unwrap_or_else(|| group.path.clone()),
                }])
                .await;
            match written {
                Err(IamError::Store(StoreError::Conflict)) => {
                    return Err(IamError::GroupExists(target));
                }
                other => other?,
            }
            return Ok(Response::Empty(Action::UpdateGroup));
        }
        GroupRequest::Delete { name } => {
            let group = ctx.group(name)?;
            if !group.member_ids.is_empty() {
                return Err(IamError::DeleteConflict("remove users from group"));
            }
            if !group.inline.is_empty() {
                return Err(IamError::DeleteConflict("delete policies"));
            }
            if !group.attached.is_empty() {
                return Err(IamError::DeleteConflict("detach all policies"));
            }
            ctx.write(&[Write::DeleteGroup {
                unique_id: group.unique_id.clone(),
            }])
            .await?;
            return Ok(Response::Empty(Action::DeleteGroup));
        }
        GroupRequest::List { path_prefix, page } => {
            let groups = ctx.snapshot.groups_in(account, path_prefix);
            let (groups, more) = paginate(groups, page, |g| g.name.clone())?;
            GroupResponse::Groups(
                Action::ListGroups,
                groups.iter().map(|g| view(g)).collect(),
                more,
            )
        }
        GroupRequest::Membership { group, user } => {
            return membership(ctx, group, user).await;
        }
        GroupRequest::ForUser { user, page } => {
            let user = ctx.user(user)?;
            let groups: Vec<&Arc<Group>> = user.groups.iter().collect();
            let (groups, more) = paginate(groups, page, |g| g.name.clone())?;
            GroupResponse::Groups(
                Action::ListGroupsForUser,
                groups.iter().map(|g| view(g)).collect(),
                more,
            )
        }
    };
    Ok(Response::Group(response))
}

async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    path: &str,
    name: &str,
) -> Result<GroupResponse, IamError> {
    let account = ctx.caller.account();
    if ctx.snapshot.group_named(account, name).is_some() {
        return Err(IamError::GroupExists(name.to_owned()));
    }
    if ctx.snapshot.groups_in(account, "/").len() >= MAX_GROUPS {
        return Err(IamError::Quota("GroupsPerAccount: 300"));
    }
    let unique_id = UniqueId::generate(UniqueIdKind::Group, random_bytes()?).to_string();
    let written = ctx
        .write(&[Write::InsertGroup(GroupRow {
            unique_id: unique_id.clone(),
            account_id: account.to_string(),
            name: name.to_owned(),
            path: path.to_owned(),
            created_at: ctx.now.unix_timestamp(),
        })])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => {
            return Err(IamError::GroupExists(name.to_owned()));
        }
        other => other?,
    }
    let snapshot = ctx.app.snapshot.load();
    let group = snapshot
        .group(&unique_id)
        .ok_or_else(|| IamError::NoSuchGroup(name.to_owned()))?;
    Ok(GroupResponse::Created(view(group)))
}

async fn membership<S: Store>(
    ctx: &Ctx<'_, S>,
    group: &str,
    user: &str,
) -> Result<Response, IamError> {
    let group = ctx.group(group)?;
    let user = ctx.user(user)?;
    let member = user.groups.iter().any(|g| g.unique_id == group.unique_id);
    let (group_id, user_id) = (group.unique_id.clone(), user.unique_id.clone());
    if ctx.action == Action::AddUserToGroup {
        if !member {
            if user.groups.len() >= MAX_GROUPS_PER_USER {
                return Err(IamError::Quota("GroupsPerUser: 10"));
            }
            ctx.write(&[Write::AddMember { group_id, user_id }]).await?;
        }
    } else {
        if !member {
            return Err(IamError::NoSuchUser(user.name.clone()));
        }
        ctx.write(&[Write::RemoveMember { group_id, user_id }])
            .await?;
    }
    Ok(Response::Empty(ctx.action))
}
