//! SAML providers (IAM-ADMIN-SUBSET.md §3.10): the identity providers whose signed responses
//! `AssumeRoleWithSAML` accepts. The metadata is parsed when it is uploaded, so a provider
//! that exists always has an entity id and at least one signing key.

use super::tags::{initial_tags, tags_of};
use super::{Ctx, IamError};
use crate::principal::Caller;
use crate::snapshot::{SamlProvider, Snapshot};
use crate::store::{OwnerTable, SamlProviderRow, Store, StoreError, Write};
use std::sync::Arc;
use tessera_proto::AccountId;
use tessera_proto::iam::{Action, Response, SamlProviderView, SamlRequest, SamlResponse, Tag};
use tessera_saml::Metadata;
use time::OffsetDateTime;

/// AWS's quota of SAML providers per account.
const MAX_PROVIDERS: usize = 100;

/// The ARN of provider `name` in `account`.
fn provider_arn(partition: &str, account: AccountId, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:saml-provider/{name}")
}

impl<S: Store> Ctx<'_, S> {
    /// A provider of the caller's account by ARN.
    pub(super) fn saml_provider(&self, arn: &str) -> Result<Arc<SamlProvider>, IamError> {
        self.snapshot
            .saml_provider(arn)
            .filter(|p| p.account == self.caller.account())
            .cloned()
            .ok_or_else(|| IamError::NoSuchSamlProvider(arn.to_owned()))
    }
}

fn parse(document: &str) -> Result<Metadata, IamError> {
    Metadata::parse(document).map_err(|e| IamError::InvalidSamlMetadata(e.0))
}

/// `ValidUntil`: the metadata's own, or, as AWS does for metadata without one, a century
/// after the provider was created.
fn valid_until(p: &SamlProvider) -> OffsetDateTime {
    let created = super::time(p.created_at);
    p.metadata.valid_until.unwrap_or_else(|| {
        created
            .replace_year(created.year() + 100)
            .unwrap_or(created)
    })
}

fn view(p: &SamlProvider) -> SamlProviderView {
    SamlProviderView {
        arn: p.arn.clone(),
        uuid: p.uuid.clone(),
        metadata: p.document.clone(),
        created: super::time(p.created_at),
        valid_until: valid_until(p),
        tags: tags_of(&p.tags),
    }
}

/// The resource a SAML-provider request is authorized against.
pub(super) fn resource(request: &SamlRequest, snapshot: &Snapshot, caller: &Caller) -> String {
    match request {
        SamlRequest::Create { name, .. } => {
            provider_arn(&snapshot.partition, caller.account(), name)
        }
        SamlRequest::Provider { arn, .. } | SamlRequest::Update { arn, .. } => arn.clone(),
        SamlRequest::List => "*".to_owned(),
    }
}

/// Runs a SAML-provider request.
pub(super) async fn execute<S: Store>(
    ctx: &Ctx<'_, S>,
    request: &SamlRequest,
) -> Result<Response, IamError> {
    match request {
        SamlRequest::Create {
            name,
            metadata,
            tags,
        } => create(ctx, name, metadata, tags).await,
        SamlRequest::Provider {
            action: Action::DeleteSAMLProvider,
            arn,
        } => {
            let p = ctx.saml_provider(arn)?;
            ctx.write(&[Write::DeleteSamlProvider { arn: p.arn.clone() }])
                .await?;
            Ok(Response::Empty(Action::DeleteSAMLProvider))
        }
        SamlRequest::Provider { arn, .. } => Ok(Response::Saml(SamlResponse::Provider(view(
            &*ctx.saml_provider(arn)?,
        )))),
        SamlRequest::Update { arn, metadata } => {
            let p = ctx.saml_provider(arn)?;
            if let Some(document) = metadata {
                parse(document)?;
                ctx.write(&[Write::UpdateSamlProvider {
                    arn: p.arn.clone(),
                    metadata: document.clone(),
                }])
                .await?;
            }
            Ok(Response::Saml(SamlResponse::Updated(p.arn.clone())))
        }
        SamlRequest::List => Ok(Response::Saml(SamlResponse::List(
            ctx.snapshot
                .saml_providers_in(ctx.caller.account())
                .into_iter()
                .map(|p| view(p))
                .collect(),
        ))),
    }
}

async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &str,
    document: &str,
    tags: &[Tag],
) -> Result<Response, IamError> {
    let account = ctx.caller.account();
    let arn = provider_arn(&ctx.snapshot.partition, account, name);
    if ctx.snapshot.saml_provider(&arn).is_some() {
        return Err(IamError::SamlProviderExists(name.to_owned()));
    }
    if ctx.snapshot.saml_providers_in(account).len() >= MAX_PROVIDERS {
        return Err(IamError::Quota("SAMLProvidersPerAccount: 100"));
    }
    parse(document)?;
    let tag_rows = initial_tags(tags, "TagsPerSAMLProvider: 50")?;
    let written = ctx
        .write(&[
            Write::InsertSamlProvider(SamlProviderRow {
                arn: arn.clone(),
                account_id: account.to_string(),
                name: name.to_owned(),
                uuid: uuid::Uuid::new_v4().to_string(),
                metadata: document.to_owned(),
                created_at: ctx.now.unix_timestamp(),
            }),
            Write::SetTags {
                table: OwnerTable::SamlProvider,
                owner_id: arn.clone(),
                tags: tag_rows.clone(),
            },
        ])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => {
            return Err(IamError::SamlProviderExists(name.to_owned()));
        }
        other => other?,
    }
    Ok(Response::Saml(SamlResponse::Created {
        arn,
        tags: tags_of(&tag_rows),
    }))
}
