//! `CreateUser`, `GetUser`, `DeleteUser`, `ListUsers`, `TagUser`, `UntagUser`, `ListUserTags`.

use super::{Ctx, IamError, check_tags, paginate, target_name};
use crate::crypto::random_bytes;
use crate::snapshot::User;
use crate::store::{Store, StoreError, UserRow, Write};
use tessera_proto::iam::{Action, Page, Response, Tag, UserView};
use tessera_proto::{UniqueId, UniqueIdKind};
use time::OffsetDateTime;

const MAX_TAGS: usize = 50;

fn created(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn tags_of(u: &User) -> Vec<Tag> {
    u.tags
        .iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// The user as IAM shows it; `with_tags` for the actions that include tags.
pub(crate) fn view(u: &User, with_tags: bool) -> UserView {
    UserView {
        path: u.path.clone(),
        name: u.name.clone(),
        id: u.unique_id.clone(),
        arn: u.arn.to_string(),
        created: created(u.created_at),
        tags: with_tags.then(|| tags_of(u)),
    }
}

/// Merges `new` into `old` case-insensitively; a new key replaces an old one, adopting its case.
fn merge_tags(old: &[(String, String)], new: &[Tag]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = old
        .iter()
        .filter(|(k, _)| !new.iter().any(|t| t.key.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    out.extend(new.iter().map(|t| (t.key.clone(), t.value.clone())));
    out
}

pub(super) async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    path: String,
    user_name: String,
    tags: Vec<Tag>,
) -> Result<Response, IamError> {
    if ctx
        .snapshot
        .user_named(ctx.caller.account(), &user_name)
        .is_some()
    {
        return Err(IamError::UserExists(user_name));
    }
    check_tags(&tags)?;
    if tags.len() > MAX_TAGS {
        return Err(IamError::Quota("TagsPerUser: 50"));
    }
    let unique_id = UniqueId::generate(UniqueIdKind::User, random_bytes()?).to_string();
    let row = UserRow {
        unique_id: unique_id.clone(),
        account_id: ctx.caller.account().to_string(),
        name: user_name.clone(),
        path,
        created_at: ctx.now.unix_timestamp(),
    };
    let written = ctx
        .write(&[
            Write::InsertUser(row),
            Write::SetUserTags {
                user_id: unique_id.clone(),
                tags: merge_tags(&[], &tags),
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
    ctx.write(&[Write::DeleteUser {
        unique_id: user.unique_id.clone(),
    }])
    .await?;
    Ok(Response::Empty(Action::DeleteUser))
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

pub(super) async fn tag<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    tags: &[Tag],
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    check_tags(tags)?;
    let merged = merge_tags(&user.tags, tags);
    if merged.len() > MAX_TAGS {
        return Err(IamError::Quota("TagsPerUser: 50"));
    }
    ctx.write(&[Write::SetUserTags {
        user_id: user.unique_id.clone(),
        tags: merged,
    }])
    .await?;
    Ok(Response::Empty(Action::TagUser))
}

pub(super) async fn untag<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    tag_keys: &[String],
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let kept: Vec<(String, String)> = user
        .tags
        .iter()
        .filter(|(k, _)| !tag_keys.iter().any(|r| r.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    ctx.write(&[Write::SetUserTags {
        user_id: user.unique_id.clone(),
        tags: kept,
    }])
    .await?;
    Ok(Response::Empty(Action::UntagUser))
}

pub(super) fn list_tags<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    page: &Page,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let mut tags = tags_of(&user);
    tags.sort_by_key(|t| t.key.to_lowercase());
    let (page_items, more) = paginate(tags, page, |t| t.key.to_lowercase())?;
    Ok(Response::Tags(page_items, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_merge_replaces_case_insensitively_and_keeps_order() {
        let old = vec![
            ("Team".to_owned(), "a".to_owned()),
            ("Env".to_owned(), "p".to_owned()),
        ];
        let merged = merge_tags(
            &old,
            &[Tag {
                key: "team".into(),
                value: "b".into(),
            }],
        );
        assert_eq!(
            merged,
            vec![
                ("Env".to_owned(), "p".to_owned()),
                ("team".to_owned(), "b".to_owned())
            ]
        );
    }
}
