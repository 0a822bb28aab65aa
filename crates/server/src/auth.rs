//! Authentication (spec §2): SigV4 in AWS's check order, then credential resolution to a
//! [`Caller`].

use crate::keyring::KeyRing;
use crate::principal::{Caller, Credential, Identity, SessionData};
use crate::snapshot::{KeyOwner, Snapshot};
use crate::tokens::{self, SessionPrincipal, TokenError};
use tessera_proto::{AccessKeyId, AccountId, KeyKind};
use tessera_sigv4::verify::{self, Claim};
use tessera_sigv4::{AmzDate, HttpRequest, SecretKey, SigningKey};
use time::Duration;

/// Why a request was not authenticated. One variant per reason (spec §2.8).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No signature at all.
    #[error("missing authentication")]
    Missing,
    /// Syntax, scope, time or HMAC failure.
    #[error(transparent)]
    Signature(#[from] tessera_sigv4::Error),
    /// The access key id is not one we issued, or its owner is gone.
    #[error("unknown access key")]
    UnknownKey,
    /// The key exists but is inactive.
    #[error("inactive access key")]
    InactiveKey,
    /// A long-term key was sent with a session token.
    #[error("session token sent with a long-term key")]
    TokenWithLongTermKey,
    /// A temporary key was sent without its session token.
    #[error("temporary key without session token")]
    MissingToken,
    /// The session token did not verify.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// What authentication needs besides the request.
pub struct AuthContext<'a> {
    /// The identity snapshot.
    pub snapshot: &'a Snapshot,
    /// The session-token key ring.
    pub ring: &'a KeyRing,
    /// The service the request must be scoped to.
    pub service: &'a str,
    /// Regions accepted in the scope; `*` accepts any.
    pub regions: &'a [String],
    /// Server time.
    pub now: AmzDate,
}

const SKEW: Duration = Duration::minutes(15);

/// Authenticates a request that must be signed.
pub fn authenticate<'s>(
    req: &HttpRequest<'_>,
    ctx: &AuthContext<'s>,
) -> Result<Caller<'s>, AuthError> {
    let claim = verify::parse(req)?.ok_or(AuthError::Missing)?;
    claim.check_scope(ctx.service, |region| {
        ctx.regions.iter().any(|r| r == "*" || r == region)
    })?;
    claim.check_time(ctx.now, SKEW)?;
    resolve_and_verify(&claim, req, ctx)
}

/// Resolves the credentials (key status, then session token), then checks the HMAC.
fn resolve_and_verify<'s>(
    claim: &Claim<'_>,
    req: &HttpRequest<'_>,
    ctx: &AuthContext<'s>,
) -> Result<Caller<'s>, AuthError> {
    let id = AccessKeyId::parse(&claim.access_key_id).ok_or(AuthError::UnknownKey)?;
    match id.kind() {
        KeyKind::LongTerm => {
            let key = ctx.snapshot.key(id.as_str()).ok_or(AuthError::UnknownKey)?;
            if !key.active {
                return Err(AuthError::InactiveKey);
            }
            if claim.session_token.is_some() {
                return Err(AuthError::TokenWithLongTermKey);
            }
            let identity = match &key.owner {
                KeyOwner::User(u) => Identity::User(u),
                KeyOwner::Root(a) => Identity::Root(*a),
            };
            let credential = Credential::LongTerm {
                access_key_id: id.as_str().to_owned(),
            };
            key.with_signing_key(&claim.scope, |k| claim.verify_with(req, k))?;
            Ok(Caller {
                identity,
                credential,
                region: claim.scope.region.to_string(),
                session: SessionData::default(),
            })
        }
        KeyKind::Temporary => {
            let token = claim
                .session_token
                .as_deref()
                .ok_or(AuthError::MissingToken)?;
            let claims = tokens::open(
                ctx.ring,
                token,
                id.as_str(),
                ctx.now.time().unix_timestamp(),
            )?;
            let account = AccountId::from_u64(claims.account).ok_or(TokenError::Forged)?;
            // A session dies with the long-term key it came from.
            if let Some(parent) = &claims.parent_key
                && !ctx.snapshot.key(parent).is_some_and(|k| k.active)
            {
                return Err(AuthError::UnknownKey);
            }
            // The principal must still exist: deleting a user ends its sessions at once.
            let identity = match &claims.principal {
                SessionPrincipal::User { unique_id } => Identity::User(
                    ctx.snapshot
                        .user(unique_id)
                        .map(|u| &**u)
                        .ok_or(AuthError::UnknownKey)?,
                ),
                SessionPrincipal::Root => Identity::Root(account),
                SessionPrincipal::FederatedUser { parent, name } => Identity::FederatedUser {
                    parent: match parent {
                        Some(id) => Some(
                            ctx.snapshot
                                .user(id)
                                .map(|u| &**u)
                                .ok_or(AuthError::UnknownKey)?,
                        ),
                        None => None,
                    },
                    account,
                    name: name.clone(),
                },
                // Deleting a role ends its sessions at once, as does deleting a user.
                SessionPrincipal::Role {
                    unique_id,
                    session_name,
                } => Identity::RoleSession {
                    role: ctx
                        .snapshot
                        .role(unique_id)
                        .map(|r| &**r)
                        .ok_or(AuthError::UnknownKey)?,
                    session_name: session_name.clone(),
                },
            };
            let key = SigningKey::derive(&SecretKey::new(claims.secret.clone()), &claim.scope);
            claim.verify_with(req, &key)?;
            Ok(Caller {
                identity,
                session: SessionData::open(&claims, ctx.snapshot),
                credential: Credential::Session(Box::new(claims)),
                region: claim.scope.region.to_string(),
            })
        }
    }
}
