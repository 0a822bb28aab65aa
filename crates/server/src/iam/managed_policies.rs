//! Managed policies and their versions: `CreatePolicy`, `GetPolicy`, `DeletePolicy`,
//! `ListPolicies`, `Create/Get/Delete/ListPolicyVersion(s)`, `SetDefaultPolicyVersion`. A policy
//! change takes effect for every attachment, boundary and session policy on the next request,
//! because they all read the policy's default version from the current snapshot.

use super::tags::{initial_tags, tags_of};
use super::{Caller, Ctx, IamError, Snapshot, attachments, owner_arn, paginate, time};
use crate::crypto::random_bytes;
use crate::snapshot::ManagedPolicy;
use crate::store::{ManagedPolicyRow, OwnerTable, PolicyVersionRow, Store, StoreError, Write};
use std::sync::Arc;
use tessera_policy::{Policy, PolicyKind, non_whitespace_len};
use tessera_proto::iam::{
    Action, ManagedRequest, ManagedResponse, Page, PolicyView, Response, Scope, Tag, Usage,
    VersionView,
};
use tessera_proto::{Arn, UniqueId, UniqueIdKind};

/// AWS's quota for one version's document, in non-whitespace characters.
const POLICY_SIZE_LIMIT: usize = 6144;
/// AWS's limit of stored versions per policy.
const MAX_VERSIONS: usize = 5;
/// AWS's default quota of customer managed policies per account.
const MAX_POLICIES: usize = 1500;

impl<S: Store> Ctx<'_, S> {
    /// A managed policy the caller's account may use: its own, or an AWS managed one.
    pub(super) fn managed_policy(&self, arn: &str) -> Result<Arc<ManagedPolicy>, IamError> {
        if Arn::parse(arn).is_none() {
            return Err(IamError::InvalidArn(arn.to_owned()));
        }
        self.snapshot
            .managed_policy(arn)
            .filter(|p| p.account.is_none_or(|a| a == self.caller.account()))
            .cloned()
            .ok_or_else(|| IamError::NoSuchManagedPolicy(arn.to_owned()))
    }

    /// A policy of the caller's account, which it may change (AWS managed ones it may not).
    fn own_policy(&self, arn: &str) -> Result<Arc<ManagedPolicy>, IamError> {
        let policy = self.managed_policy(arn)?;
        if policy.account.is_none() {
            return Err(IamError::Unmodifiable(arn.to_owned()));
        }
        Ok(policy)
    }
}

/// The resource a managed-policy request acts on.
pub(super) fn resource(m: &ManagedRequest, snapshot: &Snapshot, caller: &Caller) -> String {
    match m {
        ManagedRequest::Create { name, path, .. } => format!(
            "arn:{}:iam::{}:policy{path}{name}",
            snapshot.partition,
            caller.account()
        ),
        ManagedRequest::Policy { arn }
        | ManagedRequest::CreateVersion { arn, .. }
        | ManagedRequest::Version { arn, .. }
        | ManagedRequest::ListVersions { arn, .. }
        | ManagedRequest::ListEntities { arn, .. } => arn.clone(),
        ManagedRequest::List { .. } => "*".to_owned(),
        ManagedRequest::Attachment { owner, .. }
        | ManagedRequest::ListAttached { owner, .. }
        | ManagedRequest::PutBoundary { owner, .. }
        | ManagedRequest::DeleteBoundary { owner } => owner_arn(snapshot, caller, owner),
    }
}

/// Runs a managed-policy, attachment or boundary request.
pub(super) async fn execute<S: Store>(
    ctx: &Ctx<'_, S>,
    m: &ManagedRequest,
) -> Result<Response, IamError> {
    let response = match m {
        ManagedRequest::Create {
            name,
            path,
            document,
            description,
            tags,
        } => create(ctx, name, path, document, description.as_ref(), tags).await?,
        ManagedRequest::Policy { arn } if ctx.action == Action::DeletePolicy => {
            return delete(ctx, arn).await;
        }
        ManagedRequest::Policy { arn } => ManagedResponse::Policy(
            Action::GetPolicy,
            view(ctx.managed_policy(arn)?.as_ref(), true),
        ),
        ManagedRequest::List {
            scope,
            only_attached,
            path_prefix,
            usage,
            page,
        } => list(ctx, *scope, *only_attached, path_prefix, *usage, page)?,
        ManagedRequest::CreateVersion {
            arn,
            document,
            set_as_default,
        } => create_version(ctx, arn, document, *set_as_default).await?,
        ManagedRequest::Version { arn, version_id } => match ctx.action {
            Action::GetPolicyVersion => {
                let policy = ctx.managed_policy(arn)?;
                let number = existing_version(&policy, version_id)?;
                ManagedResponse::Version(
                    Action::GetPolicyVersion,
                    version_view(&policy, number, true),
                )
            }
            Action::DeletePolicyVersion => return delete_version(ctx, arn, version_id).await,
            _ => return set_default(ctx, arn, version_id).await,
        },
        ManagedRequest::ListVersions { arn, page } => {
            let policy = ctx.managed_policy(arn)?;
            let mut numbers: Vec<u32> = policy.versions.iter().map(|v| v.number).collect();
            numbers.reverse();
            // Newest first; the marker key must grow along the list.
            let (numbers, more) = paginate(numbers, page, |n| format!("{:010}", u32::MAX - n))?;
            ManagedResponse::Versions(
                numbers
                    .into_iter()
                    .map(|n| version_view(&policy, n, false))
                    .collect(),
                more,
            )
        }
        ManagedRequest::Attachment { owner, arn } => {
            return attachments::attach_or_detach(ctx, owner, arn).await;
        }
        ManagedRequest::ListAttached {
            owner,
            path_prefix,
            page,
        } => attachments::list(ctx, owner, path_prefix, page)?,
        ManagedRequest::ListEntities {
            arn,
            filter,
            path_prefix,
            usage,
            page,
        } => attachments::entities(ctx, arn, *filter, path_prefix, *usage, page)?,
        ManagedRequest::PutBoundary { owner, arn } => {
            return attachments::put_boundary(ctx, owner, arn).await;
        }
        ManagedRequest::DeleteBoundary { owner } => {
            return attachments::delete_boundary(ctx, owner).await;
        }
    };
    Ok(Response::Managed(response))
}

/// The policy as IAM shows it; `with_tags` for `GetPolicy` and `CreatePolicy`.
fn view(p: &ManagedPolicy, with_tags: bool) -> PolicyView {
    PolicyView {
        name: p.name.clone(),
        id: p.unique_id.clone(),
        arn: p.arn.clone(),
        path: p.path.clone(),
        default_version: format!("v{}", p.default_version),
        attachment_count: p.attachment_count,
        boundary_count: p.boundary_count,
        description: p.description.clone(),
        created: time(p.created_at),
        updated: time(p.updated_at),
        tags: with_tags.then(|| tags_of(&p.tags)),
    }
}

fn version_view(p: &ManagedPolicy, number: u32, with_document: bool) -> VersionView {
    let version = p.version(number);
    VersionView {
        document: version
            .filter(|_| with_document)
            .map(|v| v.document.clone()),
        id: format!("v{number}"),
        is_default: number == p.default_version,
        created: time(version.map_or(p.created_at, |v| v.created_at)),
    }
}

/// The number of an existing version named `v<N>`.
fn existing_version(p: &ManagedPolicy, version_id: &str) -> Result<u32, IamError> {
    version_id
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| p.version(*n).is_some())
        .ok_or_else(|| IamError::NoSuchPolicyVersion(p.arn.clone(), version_id.to_owned()))
}

/// Checks a document for a new version: identity-policy grammar and AWS's size quota.
fn check_document(document: &str) -> Result<(), IamError> {
    Policy::parse(document, PolicyKind::Identity)?;
    if non_whitespace_len(document) > POLICY_SIZE_LIMIT {
        return Err(IamError::Quota("PolicySize: 6144"));
    }
    Ok(())
}

async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &str,
    path: &str,
    document: &str,
    description: Option<&String>,
    tags: &[Tag],
) -> Result<ManagedResponse, IamError> {
    let account = ctx.caller.account();
    let own: Vec<&Arc<ManagedPolicy>> = ctx
        .snapshot
        .managed_policies_for(account)
        .into_iter()
        .filter(|p| p.account.is_some())
        .collect();
    if own.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
        return Err(IamError::PolicyExists(name.to_owned()));
    }
    if own.len() >= MAX_POLICIES {
        return Err(IamError::Quota("PoliciesPerAccount: 1500"));
    }
    check_document(document)?;
    let tag_rows = initial_tags(tags, "TagsPerPolicy: 50")?;
    let arn = format!(
        "arn:{}:iam::{account}:policy{path}{name}",
        ctx.snapshot.partition
    );
    let now = ctx.now.unix_timestamp();
    let written = ctx
        .write(&[
            Write::InsertManagedPolicy(ManagedPolicyRow {
                arn: arn.clone(),
                unique_id: UniqueId::generate(UniqueIdKind::Policy, random_bytes()?).to_string(),
                account_id: account.to_string(),
                name: name.to_owned(),
                path: path.to_owned(),
                description: description.cloned(),
                default_version: 1,
                next_version: 2,
                created_at: now,
                updated_at: now,
            }),
            Write::InsertPolicyVersion(PolicyVersionRow {
                policy_arn: arn.clone(),
                version: 1,
                document: document.to_owned(),
                created_at: now,
            }),
            Write::SetTags {
                table: OwnerTable::Policy,
                owner_id: arn.clone(),
                tags: tag_rows,
            },
        ])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => {
            return Err(IamError::PolicyExists(name.to_owned()));
        }
        other => other?,
    }
    let snapshot = ctx.app.snapshot.load();
    let policy = snapshot
        .managed_policy(&arn)
        .ok_or_else(|| IamError::NoSuchManagedPolicy(arn.clone()))?;
    Ok(ManagedResponse::Policy(
        Action::CreatePolicy,
        view(policy, true),
    ))
}

async fn delete<S: Store>(ctx: &Ctx<'_, S>, arn: &str) -> Result<Response, IamError> {
    let policy = ctx.own_policy(arn)?;
    if policy.attachment_count > 0 || policy.boundary_count > 0 {
        return Err(IamError::Conflict(
            "Cannot delete a policy attached to entities.",
        ));
    }
    if policy.versions.len() > 1 {
        return Err(IamError::Conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    ctx.write(&[Write::DeleteManagedPolicy {
        arn: policy.arn.clone(),
    }])
    .await?;
    Ok(Response::Empty(Action::DeletePolicy))
}

fn list<S: Store>(
    ctx: &Ctx<'_, S>,
    scope: Scope,
    only_attached: bool,
    path_prefix: &str,
    usage: Option<Usage>,
    page: &Page,
) -> Result<ManagedResponse, IamError> {
    let used = |p: &ManagedPolicy| match usage {
        None => p.attachment_count + p.boundary_count > 0,
        Some(Usage::Permissions) => p.attachment_count > 0,
        Some(Usage::Boundary) => p.boundary_count > 0,
    };
    let policies: Vec<&Arc<ManagedPolicy>> = ctx
        .snapshot
        .managed_policies_for(ctx.caller.account())
        .into_iter()
        .filter(|p| match scope {
            Scope::All => true,
            Scope::Aws => p.account.is_none(),
            Scope::Local => p.account.is_some(),
        })
        .filter(|p| !only_attached || used(p))
        .filter(|p| p.path.starts_with(path_prefix))
        .collect();
    let (items, more) = paginate(policies, page, |p| format!("{}\n{}", p.name, p.arn))?;
    Ok(ManagedResponse::Policies(
        items.iter().map(|p| view(p, false)).collect(),
        more,
    ))
}

async fn create_version<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    document: &str,
    set_as_default: bool,
) -> Result<ManagedResponse, IamError> {
    let policy = ctx.own_policy(arn)?;
    check_document(document)?;
    if policy.versions.len() >= MAX_VERSIONS {
        return Err(IamError::TooManyVersions);
    }
    let number = policy.next_version;
    let now = ctx.now.unix_timestamp();
    ctx.write(&[
        Write::InsertPolicyVersion(PolicyVersionRow {
            policy_arn: policy.arn.clone(),
            version: number,
            document: document.to_owned(),
            created_at: now,
        }),
        Write::UpdateManagedPolicy {
            arn: policy.arn.clone(),
            default_version: if set_as_default {
                number
            } else {
                policy.default_version
            },
            next_version: number + 1,
            updated_at: now,
        },
    ])
    .await?;
    Ok(ManagedResponse::Version(
        Action::CreatePolicyVersion,
        VersionView {
            document: None,
            id: format!("v{number}"),
            is_default: set_as_default,
            created: time(now),
        },
    ))
}

async fn delete_version<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    version_id: &str,
) -> Result<Response, IamError> {
    let policy = ctx.own_policy(arn)?;
    let number = existing_version(&policy, version_id)?;
    if number == policy.default_version {
        return Err(IamError::Conflict(
            "Cannot delete the default version of a policy.",
        ));
    }
    ctx.write(&[Write::DeletePolicyVersion {
        arn: policy.arn.clone(),
        version: number,
    }])
    .await?;
    Ok(Response::Empty(Action::DeletePolicyVersion))
}

async fn set_default<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    version_id: &str,
) -> Result<Response, IamError> {
    let policy = ctx.own_policy(arn)?;
    let number = existing_version(&policy, version_id)?;
    ctx.write(&[Write::UpdateManagedPolicy {
        arn: policy.arn.clone(),
        default_version: number,
        next_version: policy.next_version,
        updated_at: policy.updated_at,
    }])
    .await?;
    Ok(Response::Empty(Action::SetDefaultPolicyVersion))
}
