//! OpenID Connect providers (IAM-ADMIN-SUBSET.md §3.9): the issuers whose ID tokens
//! `AssumeRoleWithWebIdentity` accepts, with their audiences and thumbprints.

use super::tags::{initial_tags, tags_of};
use super::{Ctx, IamError};
use crate::snapshot::{OidcProvider, Snapshot};
use crate::store::{OidcProviderRow, OwnerTable, Store, StoreError, Write};
use tessera_proto::AccountId;
use tessera_proto::iam::{Action, OidcProviderView, Response, Tag};

/// AWS's quotas.
const MAX_PROVIDERS: usize = 100;
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;

/// Checks a provider URL and returns it without its scheme, as IAM stores it. `https://` is
/// required unless the server allows plain-HTTP issuers for development. A port is accepted
/// (AWS refuses one; a self-hosted issuer often listens on one). Query, fragment, user info and
/// whitespace are refused.
pub(crate) fn issuer_path(url: &str, insecure_http: bool) -> Result<String, IamError> {
    let invalid = || IamError::InvalidOidcUrl(url.to_owned());
    let rest = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => rest,
        (None, Some(rest)) if insecure_http => rest,
        _ => return Err(invalid()),
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || host.starts_with(':')
        || rest.contains(['?', '#', '@', '\\'])
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    Ok(rest.to_owned())
}

/// The ARN of the provider for `url` (without scheme) in `account`.
pub(crate) fn provider_arn(partition: &str, account: AccountId, url: &str) -> String {
    format!("arn:{partition}:iam::{account}:oidc-provider/{url}")
}

fn check_thumbprints(thumbprints: &[String]) -> Result<Vec<String>, IamError> {
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(IamError::Quota("ThumbprintsPerOpenIdConnectProvider: 5"));
    }
    thumbprints
        .iter()
        .map(|t| {
            if t.len() == 40 && t.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(t.to_ascii_lowercase())
            } else {
                Err(IamError::InvalidThumbprint(t.clone()))
            }
        })
        .collect()
}

/// Audiences without repeats, in the order given.
fn unique(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

impl<S: Store> Ctx<'_, S> {
    /// A provider of the caller's account by ARN.
    pub(super) fn oidc_provider(
        &self,
        arn: &str,
    ) -> Result<std::sync::Arc<OidcProvider>, IamError> {
        self.snapshot
            .oidc_provider(arn)
            .filter(|p| p.account == self.caller.account())
            .cloned()
            .ok_or_else(|| IamError::NoSuchOidcProvider(arn.to_owned()))
    }
}

pub(super) async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    url: &str,
    client_ids: &[String],
    thumbprints: &[String],
    tags: &[Tag],
) -> Result<Response, IamError> {
    let path = issuer_path(url, ctx.app.oidc_insecure_http())?;
    let account = ctx.caller.account();
    if ctx.snapshot.oidc_provider_for(account, &path).is_some() {
        return Err(IamError::OidcProviderExists(url.to_owned()));
    }
    if ctx.snapshot.oidc_providers_in(account).len() >= MAX_PROVIDERS {
        return Err(IamError::Quota("OpenIdConnectProvidersPerAccount: 100"));
    }
    let client_ids = unique(client_ids);
    if client_ids.len() > MAX_CLIENT_IDS {
        return Err(IamError::Quota("ClientIdsPerOpenIdConnectProvider: 100"));
    }
    let thumbprints = check_thumbprints(thumbprints)?;
    let tag_rows = initial_tags(tags, "TagsPerOpenIdConnectProvider: 50")?;
    let arn = provider_arn(&ctx.snapshot.partition, account, &path);
    let written = ctx
        .write(&[
            Write::InsertOidcProvider(OidcProviderRow {
                arn: arn.clone(),
                account_id: account.to_string(),
                url: path,
                client_ids,
                thumbprints,
                created_at: ctx.now.unix_timestamp(),
            }),
            Write::SetTags {
                table: OwnerTable::OidcProvider,
                owner_id: arn.clone(),
                tags: tag_rows.clone(),
            },
        ])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => {
            return Err(IamError::OidcProviderExists(url.to_owned()));
        }
        other => other?,
    }
    Ok(Response::OidcProviderCreated {
        arn,
        tags: tags_of(&tag_rows),
    })
}

pub(super) fn get<S: Store>(ctx: &Ctx<'_, S>, arn: &str) -> Result<Response, IamError> {
    let p = ctx.oidc_provider(arn)?;
    Ok(Response::OidcProvider(OidcProviderView {
        url: p.url.clone(),
        client_ids: p.client_ids.clone(),
        thumbprints: p.thumbprints.clone(),
        created: super::time(p.created_at),
        tags: tags_of(&p.tags),
    }))
}

pub(super) fn list<S: Store>(ctx: &Ctx<'_, S>, snapshot: &Snapshot) -> Response {
    Response::OidcProviders(
        snapshot
            .oidc_providers_in(ctx.caller.account())
            .iter()
            .map(|p| p.arn.clone())
            .collect(),
    )
}

pub(super) async fn delete<S: Store>(ctx: &Ctx<'_, S>, arn: &str) -> Result<Response, IamError> {
    let p = ctx.oidc_provider(arn)?;
    ctx.write(&[Write::DeleteOidcProvider { arn: p.arn.clone() }])
        .await?;
    Ok(Response::Empty(Action::DeleteOpenIDConnectProvider))
}

pub(super) async fn client_id<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    client_id: &str,
    add: bool,
) -> Result<Response, IamError> {
    let p = ctx.oidc_provider(arn)?;
    let mut ids = p.client_ids.clone();
    let action = if add {
        if !ids.iter().any(|c| c == client_id) {
            ids.push(client_id.to_owned());
        }
        if ids.len() > MAX_CLIENT_IDS {
            return Err(IamError::Quota("ClientIdsPerOpenIdConnectProvider: 100"));
        }
        Action::AddClientIDToOpenIDConnectProvider
    } else {
        ids.retain(|c| c != client_id);
        Action::RemoveClientIDFromOpenIDConnectProvider
    };
    if ids != p.client_ids {
        ctx.write(&[Write::UpdateOidcProvider {
            arn: p.arn.clone(),
            client_ids: ids,
            thumbprints: p.thumbprints.clone(),
        }])
        .await?;
    }
    Ok(Response::Empty(action))
}

pub(super) async fn update_thumbprints<S: Store>(
    ctx: &Ctx<'_, S>,
    arn: &str,
    thumbprints: &[String],
) -> Result<Response, IamError> {
    let p = ctx.oidc_provider(arn)?;
    let thumbprints = check_thumbprints(thumbprints)?;
    ctx.write(&[Write::UpdateOidcProvider {
        arn: p.arn.clone(),
        client_ids: p.client_ids.clone(),
        thumbprints,
    }])
    .await?;
    Ok(Response::Empty(
        Action::UpdateOpenIDConnectProviderThumbprint,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls() {
        assert_eq!(
            issuer_path("https://idp.example.com/realms/x", false).unwrap(),
            "idp.example.com/realms/x"
        );
        assert_eq!(
            issuer_path("https://127.0.0.1:8443/", false).unwrap(),
            "127.0.0.1:8443/"
        );
        for bad in [
            "idp.example.com",
            "http://idp.example.com",
            "https://",
            "https:///x",
            "https://idp.example.com?x=1",
            "https://idp.example.com/#f",
            "https://user@idp.example.com",
            "https://idp example.com",
        ] {
            assert!(issuer_path(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            issuer_path("http://127.0.0.1:9000", true).unwrap(),
            "127.0.0.1:9000"
        );
    }

    #[test]
    fn thumbprints_are_hex_and_at_most_five() {
        let t = "A".repeat(40);
        assert_eq!(
            check_thumbprints(std::slice::from_ref(&t)).unwrap(),
            vec!["a".repeat(40)]
        );
        assert!(matches!(
            check_thumbprints(&["g".repeat(40)]),
            Err(IamError::InvalidThumbprint(_))
        ));
        assert!(matches!(
            check_thumbprints(&vec![t; 6]),
            Err(IamError::Quota(_))
        ));
    }
}
