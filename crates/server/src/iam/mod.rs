//! The IAM admin actions (IAM-ADMIN-SUBSET.md): users, their access keys, tags and inline
//! policies. Each action resolves its target, declares the permission it needs as data
//! ([`Requirement`]), is checked by the authorization stage, and only then runs. Writes go to the
//! store first, then a new snapshot is published (DESIGN.md §3).

mod access_keys;
mod attachments;
mod groups;
mod inline_policies;
mod managed_policies;
mod mfa_devices;
pub(crate) mod oidc_providers;
mod roles;
mod saml_providers;
mod tags;
mod users;

use crate::authorize::{AuthzError, CallerRule, Requirement, check};
use crate::crypto::CryptoError;
use crate::principal::RequestEnv;
use crate::principal::{Caller, Identity};
use crate::snapshot::{
    Group, InlinePolicy, ManagedPolicy, MfaDevice, OidcProvider, Role, SamlProvider, Snapshot, User,
};
use crate::store::{OwnerTable, Store, StoreError, Write};
use crate::{App, ServerError};
use std::sync::Arc;
use tessera_policy::ParseError;
use tessera_proto::iam::{Action, Owner, OwnerKind, Page, Request, Response, Tag};
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
    #[error("The role with name {0} cannot be found.")]
    NoSuchRole(String),
    /// `NoSuchEntity`.
    #[error("The {0} policy with name {1} cannot be found.")]
    NoSuchInlinePolicy(&'static str, String),
    /// `NoSuchEntity`.
    #[error("VirtualMFADevice with serial number {0} doesn't exist.")]
    NoSuchMfaDevice(String),
    /// `NoSuchEntity`: deactivating a device that is not enabled for the user.
    #[error("MFA Device with serial number {0} does not exist.")]
    MfaNotEnabled(String),
    /// `EntityAlreadyExists`.
    #[error("MFADevice entity at the same path and name already exists.")]
    MfaDeviceExists,
    /// `EntityAlreadyExists`.
    #[error("MFA Device is already in use.")]
    MfaDeviceInUse,
    /// `InvalidAuthenticationCode`.
    #[error("Authentication code for device is not valid.")]
    InvalidAuthenticationCode,
    /// `NoSuchEntity`.
    #[error("The group with name {0} cannot be found.")]
    NoSuchGroup(String),
    /// `NoSuchEntity`: `GetPolicy` and friends of an unknown policy.
    #[error("Policy {0} was not found.")]
    NoSuchManagedPolicy(String),
    /// `NoSuchEntity`: attaching an unknown policy, or detaching one that is not attached.
    #[error("Policy {0} does not exist or is not attachable.")]
    NotAttachable(String),
    /// `NoSuchEntity`.
    #[error("Policy {0} version {1} does not exist or is not attachable.")]
    NoSuchPolicyVersion(String, String),
    /// `NoSuchEntity`: a permissions boundary that is not a managed policy.
    #[error("Scope ARN: {0} does not exist or is not attachable.")]
    NoSuchBoundary(String),
    /// `NoSuchEntity`: removing a boundary that is not set.
    #[error("The {0} with name {1} does not have a permissions boundary.")]
    NoBoundary(&'static str, String),
    /// `InvalidInput`.
    #[error("ARN {0} is not valid.")]
    InvalidArn(String),
    /// `UnmodifiableEntity`: AWS managed policies cannot be changed.
    #[error("Policy {0} is an AWS managed policy and cannot be modified.")]
    Unmodifiable(String),
    /// `EntityAlreadyExists`.
    #[error("Group with name {0} already exists.")]
    GroupExists(String),
    /// `EntityAlreadyExists`.
    #[error("A policy called {0} already exists. Duplicate names are not allowed.")]
    PolicyExists(String),
    /// `LimitExceeded`.
    #[error(
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
    )]
    TooManyVersions,
    /// `DeleteConflict` with a message of its own.
    #[error("{0}")]
    Conflict(&'static str),
    /// `NoSuchEntity`.
    #[error("OpenIDConnect Provider not found for arn {0}")]
    NoSuchOidcProvider(String),
    /// `EntityAlreadyExists`.
    #[error("Provider with url {0} already exists.")]
    OidcProviderExists(String),
    /// `NoSuchEntity`.
    #[error("SAMLProvider not found for arn {0}")]
    NoSuchSamlProvider(String),
    /// `EntityAlreadyExists`.
    #[error("SAMLProvider {0} already exists.")]
    SamlProviderExists(String),
    /// `InvalidInput`: the metadata has no entity id, no signing certificate, or is not XML.
    #[error("Could not parse metadata: {0}")]
    InvalidSamlMetadata(String),
    /// `InvalidInput`.
    #[error(
        "Invalid Url: {0}. The URL must begin with https:// and contain no query, fragment or user information."
    )]
    InvalidOidcUrl(String),
    /// `InvalidInput`.
    #[error("Thumbprint {0} is not 40 hexadecimal characters.")]
    InvalidThumbprint(String),
    /// `EntityAlreadyExists`.
    #[error("User with name {0} already exists.")]
    UserExists(String),
    /// `EntityAlreadyExists`.
    #[error("Role with name {0} already exists.")]
    RoleExists(String),
    /// `MalformedPolicyDocument`: a trust policy names a user or role that does not exist.
    #[error("Invalid principal in policy: \"AWS\":\"{0}\"")]
    InvalidPrincipal(String),
    /// `DeleteConflict`.
    #[error("Cannot delete entity, must {0} first.")]
    DeleteConflict(&'static str),
    /// `LimitExceeded`.
    #[error("Cannot exceed quota for {0}")]
    Quota(&'static str),
    /// `LimitExceeded`: the owner's inline policies together are too large.
    #[error("Maximum policy size of {limit} bytes exceeded for {kind} {name}")]
    InlinePolicySize {
        /// `user` or `role`.
        kind: &'static str,
        /// Owner name.
        name: String,
        /// The limit.
        limit: usize,
    },
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
    /// `ServiceFailure`-class: the QR code of a new MFA device could not be drawn.
    #[error(transparent)]
    Qr(#[from] crate::mfa::QrError),
    /// `ServiceFailure`-class: a cipher failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// `ServiceFailure`-class: the new snapshot could not be built.
    #[error(transparent)]
    Publish(#[from] Box<ServerError>),
}

/// A request with its target resolved: what authorization needs, and what the action runs on.
pub struct Planned {
    action: Action,
    request: Request,
    requirement: Requirement,
}

/// A planned request that passed authorization; only [`authorize`] makes one.
pub struct Authorized {
    action: Action,
    request: Request,
}

/// Checks the caller against the plan's requirement.
pub fn authorize(
    planned: Planned,
    caller: &Caller<'_>,
    env: &RequestEnv<'_>,
) -> Result<Authorized, AuthzError> {
    check(caller, planned.requirement, env)?;
    Ok(Authorized {
        action: planned.action,
        request: planned.request,
    })
}

const IAM_SESSIONS: CallerRule = CallerRule::NoUserSessionsWithoutMfa(
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
        (
            None,
            Identity::Root(_) | Identity::RoleSession { .. } | Identity::FederatedUser { .. },
        ) => Err(IamError::UserNameRequired),
    }
}

fn role_arn(snapshot: &Snapshot, caller: &Caller, path: &str, name: &str) -> String {
    match snapshot.role_named(caller.account(), name) {
        Some(r) => r.arn.to_string(),
        None => format!(
            "arn:{}:iam::{}:role{path}{name}",
            snapshot.partition,
            caller.account()
        ),
    }
}

fn group_arn(snapshot: &Snapshot, caller: &Caller, path: &str, name: &str) -> String {
    match snapshot.group_named(caller.account(), name) {
        Some(g) => g.arn.to_string(),
        None => format!(
            "arn:{}:iam::{}:group{path}{name}",
            snapshot.partition,
            caller.account()
        ),
    }
}

fn owner_arn(snapshot: &Snapshot, caller: &Caller, owner: &Owner) -> String {
    match owner.kind {
        OwnerKind::User => user_arn(snapshot, caller, "/", &owner.name),
        OwnerKind::Role => role_arn(snapshot, caller, "/", &owner.name),
        OwnerKind::Group => group_arn(snapshot, caller, "/", &owner.name),
        OwnerKind::OidcProvider
        | OwnerKind::Policy
        | OwnerKind::MfaDevice
        | OwnerKind::SamlProvider => owner.name.clone(),
    }
}

/// Resolves the target of a request and the permission it needs.
pub fn plan(
    action: Action,
    request: Request,
    caller: &Caller<'_>,
    snapshot: &Snapshot,
) -> Result<Planned, IamError> {
    let permission = format!("iam:{}", action.name());
    // A federated user is refused every IAM action before anything about the request is
    // looked at (spec §2.11), so its requests are not resolved further.
    if caller.is_federated() {
        return Ok(Planned {
            action,
            request,
            requirement: Requirement {
                callers: IAM_SESSIONS,
                permissions: vec![(permission, "*".to_owned())],
            },
        });
    }
    let resource = match &request {
        Request::CreateUser {
            path, user_name, ..
        } => user_arn(snapshot, caller, path, user_name),
        Request::CreateRole {
            path, role_name, ..
        } => role_arn(snapshot, caller, path, role_name),
        // AWS authorizes listings against the path prefix (`arn:aws:iam::<acct>:user/`).
        Request::ListUsers { path_prefix, .. } => {
            format!(
                "arn:{}:iam::{}:user{path_prefix}",
                snapshot.partition,
                caller.account()
            )
        }
        Request::ListRoles { path_prefix, .. } => {
            format!(
                "arn:{}:iam::{}:role{path_prefix}",
                snapshot.partition,
                caller.account()
            )
        }
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
        Request::DeleteUser { user_name } | Request::UpdateUser { user_name, .. } => {
            user_arn(snapshot, caller, "/", user_name)
        }
        Request::GetRole { role_name }
        | Request::DeleteRole { role_name }
        | Request::UpdateRole { role_name, .. }
        | Request::UpdateAssumeRolePolicy { role_name, .. }
        | Request::UpdateRoleDescription { role_name, .. } => {
            role_arn(snapshot, caller, "/", role_name)
        }
        Request::CreateOidcProvider { url, .. } => {
            // An unusable URL is refused by the action itself, after authorization.
            let path = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            oidc_providers::provider_arn(&snapshot.partition, caller.account(), path)
        }
        Request::OidcProvider { arn, .. }
        | Request::OidcClientId { arn, .. }
        | Request::UpdateOidcThumbprints { arn, .. } => arn.clone(),
        Request::ListOidcProviders => "*".to_owned(),
        Request::EmptyListing { owner } => owner_arn(snapshot, caller, owner),
        Request::Mfa(m) => mfa_devices::resource(m, snapshot, caller)?,
        Request::Saml(r) => saml_providers::resource(r, snapshot, caller),
        Request::Tag { owner, .. }
        | Request::Untag { owner, .. }
        | Request::ListTags { owner, .. }
        | Request::PutPolicy { owner, .. }
        | Request::GetPolicy { owner, .. }
        | Request::DeletePolicy { owner, .. }
        | Request::ListPolicies { owner, .. } => owner_arn(snapshot, caller, owner),
        Request::Managed(m) => managed_policies::resource(m, snapshot, caller),
        Request::Group(g) => groups::resource(g, snapshot, caller),
    };
    Ok(Planned {
        action,
        request,
        requirement: Requirement {
            callers: IAM_SESSIONS,
            permissions: vec![(permission, resource)],
        },
    })
}

/// What tag, inline-policy and attachment actions work on.
pub(crate) enum Entity {
    User(Arc<User>),
    Role(Arc<Role>),
    Group(Arc<Group>),
    OidcProvider(Arc<OidcProvider>),
    Policy(Arc<ManagedPolicy>),
    MfaDevice(Arc<MfaDevice>),
    SamlProvider(Arc<SamlProvider>),
}

impl Entity {
    fn unique_id(&self) -> &str {
        match self {
            Self::User(u) => &u.unique_id,
            Self::Role(r) => &r.unique_id,
            Self::Group(g) => &g.unique_id,
            Self::OidcProvider(p) => &p.arn,
            Self::Policy(p) => &p.arn,
            Self::MfaDevice(d) => &d.serial,
            Self::SamlProvider(p) => &p.arn,
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::User(u) => &u.name,
            Self::Role(r) => &r.name,
            Self::Group(g) => &g.name,
            Self::OidcProvider(p) => &p.url,
            Self::Policy(p) => &p.name,
            Self::MfaDevice(d) => &d.serial,
            Self::SamlProvider(p) => &p.name,
        }
    }

    fn tags(&self) -> &[(String, String)] {
        match self {
            Self::User(u) => &u.tags,
            Self::Role(r) => &r.tags,
            Self::Group(_) => &[],
            Self::OidcProvider(p) => &p.tags,
            Self::Policy(p) => &p.tags,
            Self::MfaDevice(d) => &d.tags,
            Self::SamlProvider(p) => &p.tags,
        }
    }

    fn inline(&self) -> &[InlinePolicy] {
        match self {
            Self::User(u) => &u.inline,
            Self::Role(r) => &r.inline,
            Self::Group(g) => &g.inline,
            Self::OidcProvider(_)
            | Self::Policy(_)
            | Self::MfaDevice(_)
            | Self::SamlProvider(_) => &[],
        }
    }

    fn attached(&self) -> &[Arc<ManagedPolicy>] {
        match self {
            Self::User(u) => &u.attached,
            Self::Role(r) => &r.attached,
            Self::Group(g) => &g.attached,
            Self::OidcProvider(_)
            | Self::Policy(_)
            | Self::MfaDevice(_)
            | Self::SamlProvider(_) => &[],
        }
    }

    fn table(&self) -> OwnerTable {
        match self {
            Self::User(_) => OwnerTable::User,
            Self::Role(_) => OwnerTable::Role,
            Self::Group(_) => OwnerTable::Group,
            Self::OidcProvider(_) => OwnerTable::OidcProvider,
            Self::Policy(_) => OwnerTable::Policy,
            Self::MfaDevice(_) => OwnerTable::MfaDevice,
            Self::SamlProvider(_) => OwnerTable::SamlProvider,
        }
    }

    fn kind_word(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Role(_) => "role",
            Self::Group(_) => "group",
            Self::OidcProvider(_) => "OpenIDConnect provider",
            Self::Policy(_) => "policy",
            Self::MfaDevice(_) => "MFA device",
            Self::SamlProvider(_) => "SAML provider",
        }
    }

    /// AWS's aggregate inline-policy limit, in non-whitespace characters.
    fn inline_limit(&self) -> usize {
        match self {
            Self::User(_) => 2048,
            Self::Group(_) => 5120,
            Self::Role(_)
            | Self::OidcProvider(_)
            | Self::Policy(_)
            | Self::MfaDevice(_)
            | Self::SamlProvider(_) => 10_240,
        }
    }
}

/// What an action runs with.
pub(crate) struct Ctx<'a, S> {
    pub(crate) action: Action,
    pub(crate) app: &'a App<S>,
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) caller: &'a Caller<'a>,
    pub(crate) now: OffsetDateTime,
}

impl<S: Store> Ctx<'_, S> {
    fn user(&self, name: &str) -> Result<Arc<User>, IamError> {
        self.snapshot
            .user_named(self.caller.account(), name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchUser(name.to_owned()))
    }

    fn role(&self, name: &str) -> Result<Arc<Role>, IamError> {
        self.snapshot
            .role_named(self.caller.account(), name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchRole(name.to_owned()))
    }

    fn group(&self, name: &str) -> Result<Arc<Group>, IamError> {
        self.snapshot
            .group_named(self.caller.account(), name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchGroup(name.to_owned()))
    }

    fn entity(&self, owner: &Owner) -> Result<Entity, IamError> {
        match owner.kind {
            OwnerKind::User => self.user(&owner.name).map(Entity::User),
            OwnerKind::Role => self.role(&owner.name).map(Entity::Role),
            OwnerKind::Group => self.group(&owner.name).map(Entity::Group),
            OwnerKind::OidcProvider => self.oidc_provider(&owner.name).map(Entity::OidcProvider),
            OwnerKind::Policy => self.managed_policy(&owner.name).map(Entity::Policy),
            OwnerKind::MfaDevice => self.mfa_device(&owner.name).map(Entity::MfaDevice),
            OwnerKind::SamlProvider => self.saml_provider(&owner.name).map(Entity::SamlProvider),
        }
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

/// A stored Unix time as the API shows it (the epoch for a value out of range, which the store
/// never holds).
pub(crate) fn time(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
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
    caller: &Caller<'_>,
    now: OffsetDateTime,
) -> Result<Response, IamError> {
    let ctx = Ctx {
        action: authorized.action,
        app,
        snapshot,
        caller,
        now,
    };
    match &authorized.request {
        Request::CreateUser { .. } => users::create(&ctx, &authorized.request).await,
        Request::GetUser { user_name } => users::get(&ctx, user_name.as_ref()),
        Request::DeleteUser { user_name } => users::delete(&ctx, user_name).await,
        Request::UpdateUser {
            user_name,
            new_path,
            new_user_name,
        } => users::update(&ctx, user_name, new_path.as_ref(), new_user_name.as_ref()).await,
        Request::ListUsers { path_prefix, page } => users::list(&ctx, path_prefix, page),
        Request::CreateRole { .. } => roles::create(&ctx, &authorized.request).await,
        Request::GetRole { role_name } => roles::get(&ctx, role_name),
        Request::DeleteRole { role_name } => roles::delete(&ctx, role_name).await,
        Request::ListRoles { path_prefix, page } => roles::list(&ctx, path_prefix, page),
        Request::UpdateRole {
            role_name,
            description,
            max_session_duration,
        } => roles::update(&ctx, role_name, description.clone(), *max_session_duration).await,
        Request::UpdateAssumeRolePolicy {
            role_name,
            policy_document,
        } => roles::update_trust(&ctx, role_name, policy_document).await,
        Request::UpdateRoleDescription {
            role_name,
            description,
        } => roles::update_description(&ctx, role_name, description).await,
        Request::EmptyListing { owner } => {
            // The listing is empty, but its owner must exist.
            ctx.entity(owner)?;
            Ok(Response::EmptyList(ctx.action))
        }
        Request::Mfa(m) => mfa_devices::execute(&ctx, m).await,
        Request::Saml(r) => saml_providers::execute(&ctx, r).await,
        Request::CreateOidcProvider {
            url,
            client_ids,
            thumbprints,
            tags,
        } => oidc_providers::create(&ctx, url, client_ids, thumbprints, tags).await,
        Request::OidcProvider {
            action: Action::DeleteOpenIDConnectProvider,
            arn,
        } => oidc_providers::delete(&ctx, arn).await,
        Request::OidcProvider { arn, .. } => oidc_providers::get(&ctx, arn),
        Request::ListOidcProviders => Ok(oidc_providers::list(&ctx, snapshot)),
        Request::OidcClientId {
            add,
            arn,
            client_id,
        } => oidc_providers::client_id(&ctx, arn, client_id, *add).await,
        Request::UpdateOidcThumbprints { arn, thumbprints } => {
            oidc_providers::update_thumbprints(&ctx, arn, thumbprints).await
        }
        Request::Tag { owner, tags } => tags::tag(&ctx, owner, tags).await,
        Request::Untag { owner, tag_keys } => tags::untag(&ctx, owner, tag_keys).await,
        Request::ListTags { owner, page } => tags::list(&ctx, owner, page),
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
        Request::PutPolicy {
            owner,
            policy_name,
            policy_document,
        } => inline_policies::put(&ctx, owner, policy_name, policy_document).await,
        Request::GetPolicy { owner, policy_name } => inline_policies::get(&ctx, owner, policy_name),
        Request::DeletePolicy { owner, policy_name } => {
            inline_policies::delete(&ctx, owner, policy_name).await
        }
        Request::ListPolicies { owner, page } => inline_policies::list(&ctx, owner, page),
        Request::Managed(m) => managed_policies::execute(&ctx, m).await,
        Request::Group(g) => groups::execute(&ctx, g).await,
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
