//! `CreateAccessKey`, `DeleteAccessKey`, `ListAccessKeys`, `UpdateAccessKey`.

use super::{Ctx, IamError, paginate, target_name};
use crate::crypto::{new_secret_access_key, random_bytes};
use crate::snapshot::{KeyOwner, User};
use crate::store::{AccessKeyRow, Store, Write};
use std::sync::Arc;
use tessera_proto::iam::{AccessKeyView, Action, Page, Response};
use tessera_proto::{AccessKeyId, KeyKind};

/// AWS's quota of access keys per user.
const KEYS_PER_USER: usize = 2;

fn view<S: Store>(ctx: &Ctx<'_, S>, user: &User, id: &str) -> Option<AccessKeyView> {
    let key = ctx.snapshot.key(id)?;
    Some(AccessKeyView {
        user_name: user.name.clone(),
        id: id.to_owned(),
        active: key.active,
        created: super::time(key.created_at),
    })
}

/// The user and one of its keys; a key of another user is reported as not found.
fn owned_key<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
    id: &str,
) -> Result<Arc<User>, IamError> {
    let user = ctx.user(&target_name(ctx.caller, user_name)?)?;
    let owned = matches!(
        ctx.snapshot.key(id).map(|k| &k.owner),
        Some(KeyOwner::User(u)) if u.unique_id == user.unique_id
    );
    if owned {
        Ok(user)
    } else {
        Err(IamError::NoSuchAccessKey(id.to_owned()))
    }
}

pub(super) async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
) -> Result<Response, IamError> {
    let user = ctx.user(&target_name(ctx.caller, user_name)?)?;
    if user.key_ids.len() >= KEYS_PER_USER {
        return Err(IamError::Quota("AccessKeysPerUser: 2"));
    }
    let id = AccessKeyId::generate(KeyKind::LongTerm, user.account, random_bytes()?).to_string();
    let secret = new_secret_access_key()?;
    let row = AccessKeyRow {
        id: id.clone(),
        account_id: user.account.to_string(),
        user_id: Some(user.unique_id.clone()),
        secret_sealed: ctx.app.master.seal(&id, secret.expose().as_bytes())?,
        active: true,
        created_at: ctx.now.unix_timestamp(),
    };
    ctx.write(&[Write::InsertAccessKey(row)]).await?;
    let view = AccessKeyView {
        user_name: user.name.clone(),
        id,
        active: true,
        created: ctx.now,
    };
    Ok(Response::NewAccessKey(view, secret))
}

pub(super) async fn delete<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
    id: &str,
) -> Result<Response, IamError> {
    owned_key(ctx, user_name, id)?;
    ctx.write(&[Write::DeleteAccessKey { id: id.to_owned() }])
        .await?;
    Ok(Response::Empty(Action::DeleteAccessKey))
}

pub(super) fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
    page: &Page,
) -> Result<Response, IamError> {
    let user = ctx.user(&target_name(ctx.caller, user_name)?)?;
    // Sorted by id, the pagination key, so every key appears on exactly one page.
    let mut keys: Vec<AccessKeyView> = user
        .key_ids
        .iter()
        .filter_map(|id| view(ctx, &user, id))
        .collect();
    keys.sort_by(|a, b| a.id.cmp(&b.id));
    let (page_items, more) = paginate(keys, page, |k| k.id.clone())?;
    Ok(Response::AccessKeys(page_items, more))
}

pub(super) async fn update<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: Option<&String>,
    id: &str,
    active: bool,
) -> Result<Response, IamError> {
    owned_key(ctx, user_name, id)?;
    ctx.write(&[Write::SetAccessKeyActive {
        id: id.to_owned(),
        active,
    }])
    .await?;
    Ok(Response::Empty(Action::UpdateAccessKey))
}
