//! Tagging users, roles, OpenID Connect providers and managed policies: `Tag*`, `Untag*`,
//! `List*Tags`.

use super::{Ctx, Entity, IamError, check_tags, paginate};
use crate::store::{Store, Write};
use tessera_proto::iam::{Owner, OwnerKind, Page, Response, Tag};

/// AWS's limit of tags per user, role or provider.
const MAX_TAGS: usize = 50;

/// Tags as the API shows them.
pub(super) fn tags_of(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
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

/// Checks the tags given to a `Create*` call and returns the rows to store.
pub(super) fn initial_tags(
    tags: &[Tag],
    quota: &'static str,
) -> Result<Vec<(String, String)>, IamError> {
    check_tags(tags)?;
    if tags.len() > MAX_TAGS {
        return Err(IamError::Quota(quota));
    }
    Ok(merge_tags(&[], tags))
}

fn quota(owner: &Owner) -> &'static str {
    match owner.kind {
        OwnerKind::User => "TagsPerUser: 50",
        OwnerKind::Role => "TagsPerRole: 50",
        OwnerKind::OidcProvider => "TagsPerOpenIdConnectProvider: 50",
        OwnerKind::Policy => "TagsPerPolicy: 50",
        OwnerKind::Group => "TagsPerGroup: 50",
        OwnerKind::MfaDevice => "TagsPerMFADevice: 50",
        OwnerKind::SamlProvider => "TagsPerSAMLProvider: 50",
    }
}

/// The entity whose tags change; AWS managed policies cannot be tagged.
fn taggable<S: Store>(ctx: &Ctx<'_, S>, owner: &Owner) -> Result<Entity, IamError> {
    let entity = ctx.entity(owner)?;
    if let Entity::Policy(p) = &entity
        && p.account.is_none()
    {
        return Err(IamError::Unmodifiable(p.arn.clone()));
    }
    Ok(entity)
}

pub(super) async fn tag<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    tags: &[Tag],
) -> Result<Response, IamError> {
    let entity = taggable(ctx, owner)?;
    check_tags(tags)?;
    let merged = merge_tags(entity.tags(), tags);
    if merged.len() > MAX_TAGS {
        return Err(IamError::Quota(quota(owner)));
    }
    ctx.write(&[Write::SetTags {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        tags: merged,
    }])
    .await?;
    Ok(Response::Empty(ctx.action))
}

pub(super) async fn untag<S: Store>(
    ctx: &Ctx<'_, S>,
    owner: &Owner,
    keys: &[String],
) -> Result<Response, IamError> {
    let entity = taggable(ctx, owner)?;
    let kept: Vec<(String, String)> = entity
        .tags()
        .iter()
        .filter(|(k, _)| !keys.iter().any(|r| r.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    ctx.write(&[Write::SetTags {
        table: entity.table(),
        owner_id: entity.unique_id().to_owned(),
        tags: kept,
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
    let mut tags = tags_of(entity.tags());
    tags.sort_by_key(|t| t.key.to_lowercase());
    let (page_items, more) = paginate(tags, page, |t| t.key.to_lowercase())?;
    Ok(Response::Tags(ctx.action, page_items, more))
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

    #[test]
    fn initial_tags_enforce_the_limit() {
        let many: Vec<Tag> = (0..51)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect();
        assert!(matches!(
            initial_tags(&many, "TagsPerUser: 50"),
            Err(IamError::Quota(_))
        ));
        assert_eq!(initial_tags(&many[..50], "x").unwrap().len(), 50);
    }
}
