//! `GetSessionToken` (spec §3.10): temporary credentials for the calling user or root, with no
//! policy evaluation.

use super::{OpContext, OpError};
use crate::crypto::{new_secret_access_key, random_bytes};
use crate::principal::{Caller, Identity};
use crate::tokens::{self, Origin, SessionClaims, SessionPrincipal};
use tessera_proto::sts::{Credentials, GetSessionToken, Response};
use tessera_proto::{AccessKeyId, KeyKind};
use time::Duration;

/// Default duration for IAM users (12 h).
const USER_DEFAULT_SECS: u32 = 43_200;
/// Default and cap for the account root (1 h, larger requests silently reduced).
const ROOT_CAP_SECS: u32 = 3_600;

/// The effective duration for a caller (spec §3.0.2).
fn duration_secs(identity: &Identity, requested: Option<u32>) -> u32 {
    match identity {
        Identity::Root(_) => requested.unwrap_or(ROOT_CAP_SECS).min(ROOT_CAP_SECS),
        Identity::User(_) | Identity::RoleSession { .. } => requested.unwrap_or(USER_DEFAULT_SECS),
    }
}

pub(super) fn run(
    caller: &Caller,
    req: &GetSessionToken,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    if req.mfa.is_some() {
        // No MFA device can be registered yet (they arrive with the IAM API), so no serial
        // number can belong to the caller: refuse as AWS does for an unknown device.
        return Err(OpError::MfaDeviceUnknown);
    }
    let secs = duration_secs(&caller.identity, req.duration.map(|d| d.get()));
    let account = caller.account();
    let access_key_id = AccessKeyId::generate(KeyKind::Temporary, account, random_bytes()?);
    let secret = new_secret_access_key()?;
    let issued_at = ctx.now.unix_timestamp();
    let expires = ctx.now + Duration::seconds(i64::from(secs));
    let principal = match &caller.identity {
        Identity::User(u) => SessionPrincipal::User {
            unique_id: u.unique_id.clone(),
        },
        Identity::Root(_) => SessionPrincipal::Root,
        // Unreachable: role sessions may not call GetSessionToken (authorization refuses them).
        Identity::RoleSession { role, session_name } => SessionPrincipal::Role {
            unique_id: role.unique_id.clone(),
            session_name: session_name.clone(),
        },
    };
    let claims = SessionClaims {
        access_key_id: access_key_id.as_str().to_owned(),
        secret: secret.expose().to_owned(),
        account: account.as_u64(),
        principal,
        origin: Origin::GetSessionToken,
        issued_at,
        expires_at: expires.unix_timestamp(),
        mfa_authenticated_at: None,
        source_identity: None,
        chained: false,
        packed: Vec::new(),
    };
    let session_token = tokens::seal(ctx.ring, &claims)?;
    Ok(Response::SessionToken(Credentials {
        access_key_id,
        secret_access_key: secret,
        session_token,
        expiration: expires,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_proto::AccountId;

    #[test]
    fn root_is_capped_at_one_hour_users_default_to_twelve() {
        let root = Identity::Root(AccountId::from_u64(1).unwrap());
        assert_eq!(duration_secs(&root, None), 3_600);
        assert_eq!(duration_secs(&root, Some(129_600)), 3_600);
        assert_eq!(duration_secs(&root, Some(900)), 900);
    }
}
