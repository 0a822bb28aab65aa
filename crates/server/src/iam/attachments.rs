//! Managed policies attached to users, groups and roles (`Attach*Policy`, `Detach*Policy`,
//! `ListAttached*Policies`, `ListEntitiesForPolicy`) and permissions boundaries
//! (`Put/Delete{User,Role}PermissionsBoundary`).

use super::{Ctx, Entity, IamError, paginate};
use crate::snapshot::{Group, ManagedPolicy, Role, User};
use crate::store::{AttachmentRow, Store, Write};
use std::sync::Arc;
use tessera_proto::iam::{
    Action, EntityFilter, EntityRef, ManagedResponse, Owner, Page, Response, Usage,
};

/// AWS's default quota of managed policies attached to one user, group or role.
const MAX_ATTACHED: usize = 10;

fn quota(entity: &Entity) -> &'static str {
    match entity {
        Entity::Role(_) => "PoliciesPerRole: 10",
        Entity::Group(_) => "PoliciesPerGroup: 10",
        Entity::User(_)
        | Entity::OidcProvider(_)
        | Entity::Policy(_)
        | Entity::MfaDevice(_)
        | Entity::SamlProvider(_) => "PoliciesPerUser: 10",
    }
}

fn is_attach(action: Action) -> bool {
    matches!(
        action,
        Action::AttachUserPolicy | Action::AttachGroupPolicy | Action::AttachRolePolicy
    )
}

pub(super) async fn attach_or_detach<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    arn: &str,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    let attached = entity.attached().iter().any(|p| p.arn == arn);
    let row = |policy: &ManagedPolicy| AttachmentRow {
        policy_arn: policy.arn.clone(),
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
    };
    if is_attach(ctx.action) {
        let policy = ctx.managed_policy(arn).map_err(|e| match e {
            IamError::NoSuchManagedPolicy(a) => IamError::NotAttachable(a),
            other => other,
        })?;
        if !attached {
            if entity.attached().len() >= MAX_ATTACHED {
                return Err(IamError::Quota(quota(&entity)));
            }
            ctx.write(&[Write::Attach(row(&policy))]).await?;
        }
    } else {
        let policy = ctx.managed_policy(arn)?;
        if !attached {
            return Err(IamError::NoSuchManagedPolicy(arn.to_owned()));
        }
        ctx.write(&[Write::Detach(row(&policy))]).await?;
    }
    Ok(Response::Empty(ctx.action))
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    path_prefix: &str,
    page: &Page,
) -> Result<ManagedResponse, IamError> {
    let entity = ctx.entity(owner)?;
    let mut policies: Vec<(String, String)> = entity
        .attached()
        .iter()
        .filter(|p| p.path.starts_with(path_prefix))
        .map(|p| (p.name.clone(), p.arn.clone()))
        .collect();
    policies.sort();
    let (items, more) = paginate(policies, page, |(name, arn)| format!("{name}\n{arn}"))?;
    Ok(ManagedResponse::Attached(ctx.action, items, more))
}

/// Whether `entity_policies`/`boundary` use `arn` the way `usage` asks.
fn uses(
    attached: &[Arc<ManagedPolicy>],
    boundary: Option<&Arc<ManagedPolicy>>,
    arn: &str,
    usage: Option<Usage>,
) -> bool {
    let as_policy = attached.iter().any(|p| p.arn == arn);
    let as_boundary = boundary.is_some_and(|b| b.arn == arn);
    match usage {
        None => as_policy || as_boundary,
        Some(Usage::Permissions) => as_policy,
        Some(Usage::Boundary) => as_boundary,
    }
}

pub(super) fn entities<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    filter: EntityFilter,
    path_prefix: &str,
    usage: Option<Usage>,
    page: &Page,
) -> Result<ManagedResponse, IamError> {
    let policy = ctx.managed_policy(arn)?;
    let account = ctx.caller.account();
    let wanted = |kind: EntityFilter| filter == EntityFilter::All || filter == kind;
    // One list across kinds (groups, users, roles) so one marker pages through all of them.
    let mut found: Vec<(char, EntityRef)> = Vec::new();
    let entity = |name: &str, id: &str| EntityRef {
        name: name.to_owned(),
        id: id.to_owned(),
    };
    if wanted(EntityFilter::Group) && usage != Some(Usage::Boundary) {
        let groups: Vec<&Arc<Group>> = ctx.snapshot.groups_in(account, path_prefix);
        for g in groups
            .iter()
            .filter(|g| uses(&g.attached, None, &policy.arn, usage))
        {
            found.push(('g', entity(&g.name, &g.unique_id)));
        }
    }
    if wanted(EntityFilter::User) {
        let users: Vec<&Arc<User>> = ctx.snapshot.users_in(account, path_prefix);
        for u in users
            .iter()
            .filter(|u| uses(&u.attached, u.boundary.as_ref(), &policy.arn, usage))
        {
            found.push(('u', entity(&u.name, &u.unique_id)));
        }
    }
    if wanted(EntityFilter::Role) {
        let roles: Vec<&Arc<Role>> = ctx.snapshot.roles_in(account, path_prefix);
        for r in roles
            .iter()
            .filter(|r| uses(&r.attached, r.boundary.as_ref(), &policy.arn, usage))
        {
            found.push(('r', entity(&r.name, &r.unique_id)));
        }
    }
    let (items, more) = paginate(found, page, |(kind, e)| format!("{kind}{}", e.name))?;
    let (mut groups, mut users, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    for (kind, e) in items {
        match kind {
            'g' => groups.push(e),
            'u' => users.push(e),
            _ => roles.push(e),
        }
    }
    Ok(ManagedResponse::Entities {
        groups,
        users,
        roles,
        more,
    })
}

/// The boundary policy named by `arn`, as `Put*PermissionsBoundary` and `Create*` need it.
pub(super) fn boundary_policy<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
) -> Result<Arc<ManagedPolicy>, IamError> {
    ctx.managed_policy(arn).map_err(|e| match e {
        IamError::NoSuchManagedPolicy(a) => IamError::NoSuchBoundary(a),
        other => other,
    })
}

pub(super) async fn put_boundary<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    arn: &str,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    let policy = boundary_policy(ctx, arn)?;
    ctx.write(&[Write::SetBoundary {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        arn: Some(policy.arn.clone()),
    }])
    .await?;
    Ok(Response::Empty(ctx.action))
}

pub(super) async fn delete_boundary<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
) -> Result<Response, IamError> {
    let entity = ctx.entity(owner)?;
    let has_boundary = match &entity {
        Entity::User(u) => u.boundary.is_some(),
        Entity::Role(r) => r.boundary.is_some(),
        Entity::Group(_)
        | Entity::OidcProvider(_)
        | Entity::Policy(_)
        | Entity::MfaDevice(_)
        | Entity::SamlProvider(_) => false,
    };
    if !has_boundary {
        return Err(IamError::NoBoundary(
            entity.kind_word(),
            entity.name().to_owned(),
        ));
    }
    ctx.write(&[Write::SetBoundary {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        arn: None,
    }])
    .await?;
    Ok(Response::Empty(ctx.action))
}
