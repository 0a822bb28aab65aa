//! The IAM admin actions (IAM-ADMIN-SUBSET.md): users, their access keys, tags and inline
//! policies. Each action resolves its target, declares the permission it needs as data
//! ([`Requirement`]), is checked by the authorization stage, and only then runs. Writes go to the
//! store first, then a new snapshot is published (DESIGN.md §3).

mod access_keys;
mod user_policies;
mod users;

use crate::authorize::{AuthzError, CallerRule, Requirement, check};
use crate::crypto::CryptoError;
use crate::principal::RequestEnv;
use crate::principal::{Caller, Identity};
use crate::snapshot::{Snapshot, User};
use crate::store::{Store, StoreError, Write};
use crate::{App, ServerError};
use std::sync::Arc;
use tessera_policy::ParseError;
use tessera_proto::iam::{Page, Request, Response, Tag};
use time::OffsetDateTime;

/// Why an IAM action failed. One variant per reason; mapped to AWS codes in `protocol.rs`.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity`.
    #[error("The user with name {0} cannot be found.")]
    NoSuchUser(String),
    /// `NoSuchEntity`.
    #[error("The Access Key with id {0} cannot be found.")]
    NoSuchAccessKey(String),
    /// `NoSuchEntity`.
    #[error("The user policy with name {0} cannot be found.")]
    NoSuchUserPolicy(String),
    /// `EntityAlreadyExists`.
    #[error("User with name {0} already exists.")]
    UserExists(String),
    /// `DeleteConflict`.
    #[error("Cannot delete entity, must {0} first.")]
    DeleteConflict(&'static str),
    /// `LimitExceeded`.
    #[error("Cannot exceed quota for {0}")]
    Quota(&'static str),
    /// `LimitExceeded`: the user's inline policies together are too large.
    #[error("Maximum policy size of 2048 bytes exceeded for user {0}")]
    InlinePolicySize(String),
    /// `InvalidInput`.
    #[error("Duplicate tag keys found. Please note that Tag keys are case insensitive.")]
    DuplicateTagKeys,
    /// `InvalidInput`.
    #[error("The tag key '{0}' uses the reserved prefix 'aws:'.")]
    ReservedTagKey(String),
    /// `InvalidInput`.
    #[error("Invalid Marker.")]
    InvalidMarker,
    /// `ValidationError`: no user name and the caller is not a user.
    #[error("Must specify userName when calling with non-User credentials")]
    UserNameRequired,
    /// `MalformedPolicyDocument`.
    #[error(transparent)]
    Malformed(#[from] ParseError),
    /// `ServiceFailure`-class: the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `ServiceFailure`-class: a cipher failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// `ServiceFailure`-class: the new snapshot could not be built.
    #[error(transparent)]
    Publish(#[from] Box<ServerError>),
}

/// A request with its target resolved: what authorization needs, and what the action runs on.
pub struct Planned {
    request: Request,
    requirement: Requirement,
}

/// A planned request that passed authorization; only [`authorize`] makes one.
pub struct Authorized {
    request: Request,
}

/// Checks the caller against the plan's requirement.
pub fn authorize(
    planned: Planned,
    caller: &Caller,
    env: &RequestEnv<'_>,
) -> Result<Authorized, AuthzError> {
    check(caller, planned.requirement, env)?;
    Ok(Authorized {
        request: planned.request,
    })
}

const IAM_SESSIONS: CallerRule = CallerRule::MfaSessionsOnly(
    "Cannot call IAM APIs with session credentials that were not authenticated with MFA.",
);

fn user_arn(snapshot: &Snapshot, caller: &Caller, path: &str, name: &str) -> String {
    match snapshot.user_named(caller.account(), name) {
        Some(u) => u.arn.to_string(),
        None => format!(
            "arn:{}:iam::{}:user{path}{name}",
            snapshot.partition,
            caller.account()
        ),
    }
}

/// The name an action applies to: the one given, or the calling user's.
fn target_name(caller: &Caller, given: Option<&String>) -> Result<String, IamError> {
    match (given, &caller.identity) {
        (Some(name), _) => Ok(name.clone()),
        (None, Identity::User(u)) => Ok(u.name.clone()),
        (None, Identity::Root(_)) => Err(IamError::UserNameRequired),
    }
}

/// Resolves the target of a request and the permission it needs.
pub fn plan(request: Request, caller: &Caller, snapshot: &Snapshot) -> Result<Planned, IamError> {
    let action = format!("iam:{}", action_of(&request).name());
    let resource = match &request {
        Request::CreateUser {
            path, user_name, ..
        } => user_arn(snapshot, caller, path, user_name),
        Request::ListUsers { .. } => "*".to_owned(),
        Request::GetUser { user_name }
        | Request::CreateAccessKey { user_name }
        | Request::DeleteAccessKey { user_name, .. }
        | Request::ListAccessKeys { user_name, .. }
        | Request::UpdateAccessKey { user_name, .. } => user_arn(
            snapshot,
            caller,
            "/",
            &target_name(caller, user_name.as_ref())?,
        ),
        Request::DeleteUser { user_name }
        | Request::TagUser { user_name, .. }
        | Request::UntagUser { user_name, .. }
        | Request::ListUserTags { user_name, .. }
        | Request::PutUserPolicy { user_name, .. }
        | Request::GetUserPolicy { user_name, .. }
        | Request::DeleteUserPolicy { user_name, .. }
        | Request::ListUserPolicies { user_name, .. } => user_arn(snapshot, caller, "/", user_name),
    };
    Ok(Planned {
        request,
        requirement: Requirement {
            callers: IAM_SESSIONS,
            permission: Some((action, resource)),
        },
    })
}

fn action_of(r: &Request) -> tessera_proto::iam::Action {
    use tessera_proto::iam::Action as A;
    match r {
        Request::CreateUser { .. } => A::CreateUser,
        Request::GetUser { .. } => A::GetUser,
        Request::DeleteUser { .. } => A::DeleteUser,
        Request::ListUsers { .. } => A::ListUsers,
        Request::TagUser { .. } => A::TagUser,
        Request::UntagUser { .. } => A::UntagUser,
        Request::ListUserTags { .. } => A::ListUserTags,
        Request::CreateAccessKey { .. } => A::CreateAccessKey,
        Request::DeleteAccessKey { .. } => A::DeleteAccessKey,
        Request::ListAccessKeys { .. } => A::ListAccessKeys,
        Request::UpdateAccessKey { .. } => A::UpdateAccessKey,
        Request::PutUserPolicy { .. } => A::PutUserPolicy,
        Request::GetUserPolicy { .. } => A::GetUserPolicy,
        Request::DeleteUserPolicy { .. } => A::DeleteUserPolicy,
        Request::ListUserPolicies { .. } => A::ListUserPolicies,
    }
}

/// What an action runs with.
pub(crate) struct Ctx<'a, S> {
    pub(crate) app: &'a App<S>,
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) caller: &'a Caller,
    pub(crate) now: OffsetDateTime,
}

impl<S: Store> Ctx<'_, S> {
    fn user(&self, name: &str) -> Result<Arc<User>, IamError> {
        self.snapshot
            .user_named(self.caller.account(), name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchUser(name.to_owned()))
    }

    async fn write(&self, writes: &[Write]) -> Result<(), IamError> {
        self.app.write(writes).await.map_err(|e| match e {
            ServerError::Store(s) => IamError::Store(s),
            other => IamError::Publish(Box::new(other)),
        })
    }
}

/// One page of `items`, which are sorted by the key `key_of` returns. The marker is the key of
/// the last item returned, so pages stay stable while entities are added or removed.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    page: &Page,
    key_of: impl Fn(&T) -> String,
) -> Result<(Vec<T>, tessera_proto::iam::More), IamError> {
    let start = match &page.marker {
        Some(m) => {
            let after = decode_marker(m).ok_or(IamError::InvalidMarker)?;
            items
                .iter()
                .position(|i| key_of(i) > after)
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let truncated = rest.len() > page.max_items;
    rest.truncate(page.max_items);
    let marker = if truncated {
        rest.last().map(|i| encode_marker(&key_of(i)))
    } else {
        None
    };
    Ok((rest, tessera_proto::iam::More { marker }))
}

fn encode_marker(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_marker(marker: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Checks tags as IAM does: no duplicate keys (case-insensitively), no `aws:` prefix.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), IamError> {
    for (i, t) in tags.iter().enumerate() {
        if t.key.to_lowercase().starts_with("aws:") {
            return Err(IamError::ReservedTagKey(t.key.clone()));
        }
        if tags
            .iter()
            .skip(i + 1)
            .any(|o| o.key.eq_ignore_ascii_case(&t.key))
        {
            return Err(IamError::DuplicateTagKeys);
        }
    }
    Ok(())
}

/// Runs an authorized IAM request.
pub async fn execute<S: Store>(
    authorized: Authorized,
    app: &App<S>,
    snapshot: &Snapshot,
    caller: &Caller,
    now: OffsetDateTime,
) -> Result<Response, IamError> {
    let ctx = Ctx {
        app,
        snapshot,
        caller,
        now,
    };
    match &authorized.request {
        Request::CreateUser {
            path,
            user_name,
            tags,
        } => users::create(&ctx, path.clone(), user_name.clone(), tags.clone()).await,
        Request::GetUser { user_name } => users::get(&ctx, user_name.as_ref()),
        Request::DeleteUser { user_name } => users::delete(&ctx, user_name).await,
        Request::ListUsers { path_prefix, page } => users::list(&ctx, path_prefix, page),
        Request::TagUser { user_name, tags } => users::tag(&ctx, user_name, tags).await,
        Request::UntagUser {
            user_name,
            tag_keys,
        } => users::untag(&ctx, user_name, tag_keys).await,
        Request::ListUserTags { user_name, page } => users::list_tags(&ctx, user_name, page),
        Request::CreateAccessKey { user_name } => {
            access_keys::create(&ctx, user_name.as_ref()).await
        }
        Request::DeleteAccessKey {
            user_name,
            access_key_id,
        } => access_keys::delete(&ctx, user_name.as_ref(), access_key_id).await,
        Request::ListAccessKeys { user_name, page } => {
            access_keys::list(&ctx, user_name.as_ref(), page)
        }
        Request::UpdateAccessKey {
            user_name,
            access_key_id,
            active,
        } => access_keys::update(&ctx, user_name.as_ref(), access_key_id, *active).await,
        Request::PutUserPolicy {
            user_name,
            policy_name,
            policy_document,
        } => user_policies::put(&ctx, user_name, policy_name, policy_document).await,
        Request::GetUserPolicy {
            user_name,
            policy_name,
        } => user_policies::get(&ctx, user_name, policy_name),
        Request::DeleteUserPolicy {
            user_name,
            policy_name,
        } => user_policies::delete(&ctx, user_name, policy_name).await,
        Request::ListUserPolicies { user_name, page } => user_policies::list(&ctx, user_name, page),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_pages_are_stable() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let page = |marker: Option<String>| Page {
            marker,
            max_items: 2,
        };
        let (first, more) = paginate(items.clone(), &page(None), |s| s.clone()).unwrap();
        assert_eq!(first, vec!["a", "b"]);
        // An item inserted before the marker does not shift the next page.
        let mut grown = items.clone();
        grown.insert(0, "0".into());
        let (second, more2) = paginate(grown, &page(more.marker), |s| s.clone()).unwrap();
        assert_eq!(second, vec!["c", "d"]);
        let (third, more3) = paginate(items, &page(more2.marker), |s| s.clone()).unwrap();
        assert_eq!(third, vec!["e"]);
        assert!(more3.marker.is_none());
        assert!(matches!(
            paginate(vec!["x".to_owned()], &page(Some("!!".into())), |s| s
                .clone()),
            Err(IamError::InvalidMarker)
        ));
    }

    #[test]
    fn tag_rules() {
        let t = |k: &str| Tag {
            key: k.into(),
            value: String::new(),
        };
        assert!(check_tags(&[t("a"), t("b")]).is_ok());
        assert!(matches!(
            check_tags(&[t("Team"), t("team")]),
            Err(IamError::DuplicateTagKeys)
        ));
        assert!(matches!(
            check_tags(&[t("AWS:x")]),
            Err(IamError::ReservedTagKey(_))
        ));
    }
}
