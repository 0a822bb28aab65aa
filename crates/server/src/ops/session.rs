//! What every credential-issuing action shares: session-policy and session-tag checks
//! (spec §3.0.4–3.0.5), the long-term caller's duration rule (§3.0.2), and minting.

use super::{OpContext, OpError};
use crate::crypto::SessionRandom;
use crate::principal::{Caller, Identity};
use crate::snapshot::Snapshot;
use crate::tokens::{self, Federated, Origin, PackedSession, SessionClaims, SessionPrincipal};
use tessera_policy::{Policy, PolicyKind};
use tessera_proto::sts::{Credentials, Mfa};
use tessera_proto::{AccessKeyId, AccountId, KeyKind};
use time::Duration;

/// AWS's limit of managed session policies.
const MAX_POLICY_ARNS: usize = 10;
/// Default duration for IAM users of GetSessionToken and GetFederationToken (12 h).
const USER_DEFAULT_SECS: u32 = 43_200;
/// Default and cap for the account root (1 h, larger requests silently reduced).
const ROOT_CAP_SECS: u32 = 3_600;

/// The effective duration of a GetSessionToken or GetFederationToken session (spec §3.0.2).
pub(super) fn long_term_duration(identity: &Identity, requested: Option<u32>) -> u32 {
    match identity {
        Identity::Root(_) => requested.unwrap_or(ROOT_CAP_SECS).min(ROOT_CAP_SECS),
        Identity::User(_) | Identity::RoleSession { .. } | Identity::FederatedUser { .. } => {
            requested.unwrap_or(USER_DEFAULT_SECS)
        }
    }
}

/// Checks the session policies of a request: the inline policy's grammar, and that each managed
/// one is a policy of `account` or an AWS managed policy. Managed session policies are resolved
/// again on every request the session makes, so later edits apply (spec §3.0.4).
pub(super) fn check_policies(
    snapshot: &Snapshot,
    account: AccountId,
    policy: Option<&String>,
    policy_arns: &[String],
) -> Result<(), OpError> {
    if let Some(p) = policy {
        Policy::parse(p, PolicyKind::Identity)?;
    }
    if policy_arns.len() > MAX_POLICY_ARNS {
        return Err(OpError::Invalid(format!(
            "The number of managed session policies exceeds the limit of {MAX_POLICY_ARNS}."
        )));
    }
    for arn in policy_arns {
        let usable = snapshot
            .managed_policy(arn)
            .is_some_and(|p| p.account.is_none_or(|a| a == account));
        if !usable {
            return Err(OpError::Invalid(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }
    Ok(())
}

/// Verifies the MFA parameters of a request against the calling user's enabled devices, and
/// returns the time of authentication when they were given. Only IAM users own devices here, so
/// any other caller's serial is unknown.
pub(super) fn verify_mfa(
    ctx: &OpContext<'_>,
    caller: &Caller,
    mfa: Option<&Mfa>,
) -> Result<Option<i64>, OpError> {
    let Some(mfa) = mfa else {
        return Ok(None);
    };
    let Identity::User(user) = &caller.identity else {
        return Err(OpError::MfaDeviceUnknown);
    };
    let device = ctx
        .snapshot
        .mfa_device(&mfa.serial_number)
        .filter(|d| {
            d.assigned
                .as_ref()
                .is_some_and(|(owner, _)| *owner == user.unique_id)
        })
        .ok_or(OpError::MfaDeviceUnknown)?;
    let now = ctx.now.unix_timestamp();
    device
        .seed
        .verify(&mfa.token_code, now)
        .ok_or(OpError::MfaCodeInvalid)?;
    Ok(Some(now))
}

/// Checks session tags: no `aws:` keys, no two keys equal but for case, and every transitive
/// key among the tags.
pub(super) fn check_tags(tags: &[(String, String)], transitive: &[String]) -> Result<(), OpError> {
    for (i, (key, _)) in tags.iter().enumerate() {
        if key.to_lowercase().starts_with("aws:") {
            return Err(OpError::Invalid(format!(
                "The tag key '{key}' uses the reserved prefix 'aws:'."
            )));
        }
        if tags
            .iter()
            .skip(i + 1)
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            return Err(OpError::Invalid(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                    .to_owned(),
            ));
        }
    }
    for t in transitive {
        if !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(t)) {
            return Err(OpError::Invalid(format!(
                "The transitive tag key '{t}' is not among the session tags of the request."
            )));
        }
    }
    Ok(())
}

/// Everything a new session is made of, besides its keys.
pub(super) struct NewSession {
    pub(super) account: AccountId,
    pub(super) principal: SessionPrincipal,
    pub(super) origin: Origin,
    pub(super) secs: u32,
    pub(super) mfa_authenticated_at: Option<i64>,
    pub(super) source_identity: Option<String>,
    pub(super) chained: bool,
    pub(super) parent_key: Option<String>,
    pub(super) federated: Option<Box<Federated>>,
    pub(super) packed: PackedSession,
}

/// Mints credentials for a new session; the percentage is `Some` when anything was packed.
pub(super) fn mint(
    ctx: &OpContext<'_>,
    s: NewSession,
) -> Result<(Credentials, Option<usize>), OpError> {
    let has_packed = s.packed != PackedSession::default();
    let (packed, percent) = tokens::pack(&s.packed)?;
    let drawn = SessionRandom::draw()?;
    let access_key_id = AccessKeyId::generate(KeyKind::Temporary, s.account, drawn.key_id);
    let secret = drawn.secret;
    let expires = ctx.now + Duration::seconds(i64::from(s.secs));
    let claims = SessionClaims {
        access_key_id: access_key_id.as_str().to_owned(),
        secret: secret.expose().to_owned(),
        account: s.account.as_u64(),
        principal: s.principal,
        origin: s.origin,
        issued_at: ctx.now.unix_timestamp(),
        expires_at: expires.unix_timestamp(),
        mfa_authenticated_at: s.mfa_authenticated_at,
        source_identity: s.source_identity,
        chained: s.chained,
        parent_key: s.parent_key,
        federated: s.federated,
        packed,
    };
    let session_token = tokens::seal(ctx.ring, drawn.nonce, &claims)?;
    let credentials = Credentials {
        access_key_id,
        secret_access_key: secret,
        session_token,
        expiration: expires,
    };
    Ok((credentials, has_packed.then_some(percent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_capped_at_one_hour() {
        let root = Identity::Root(AccountId::from_u64(1).unwrap());
        assert_eq!(long_term_duration(&root, None), 3_600);
        assert_eq!(long_term_duration(&root, Some(129_600)), 3_600);
        assert_eq!(long_term_duration(&root, Some(900)), 900);
    }

    #[test]
    fn tag_rules() {
        let t = |k: &str| (k.to_owned(), String::new());
        assert!(check_tags(&[t("a"), t("b")], &["A".to_owned()]).is_ok());
        assert!(matches!(
            check_tags(&[t("Team"), t("team")], &[]),
            Err(OpError::Invalid(_))
        ));
        assert!(matches!(
            check_tags(&[t("aws:x")], &[]),
            Err(OpError::Invalid(_))
        ));
        assert!(matches!(
            check_tags(&[t("a")], &["b".to_owned()]),
            Err(OpError::Invalid(_))
        ));
    }

    #[test]
    fn managed_session_policies_must_be_the_accounts_own_or_aws_managed() {
        use crate::keyring::MasterKey;
        use crate::store::{ManagedPolicyRow, PolicyVersionRow, StoreData};
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::load_or_create(None, &dir.path().join("m")).unwrap();
        let own = "arn:aws:iam::111111111111:policy/Own";
        let foreign = "arn:aws:iam::222222222222:policy/Foreign";
        let mut data = StoreData::default();
        for (arn, account) in [(own, "111111111111"), (foreign, "222222222222")] {
            data.managed_policies.push(ManagedPolicyRow {
                arn: arn.into(),
                unique_id: format!("ANPA{account}"),
                account_id: account.into(),
                name: arn.rsplit('/').next().unwrap().into(),
                path: "/".into(),
                description: None,
                default_version: 1,
                next_version: 2,
                created_at: 0,
                updated_at: 0,
            });
            data.policy_versions.push(PolicyVersionRow {
                policy_arn: arn.into(),
                version: 1,
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
                created_at: 0,
            });
        }
        let snapshot = Snapshot::build(&data, &master, "aws").unwrap();
        let account = AccountId::parse("111111111111").unwrap();
        let check = |arn: &str| check_policies(&snapshot, account, None, &[arn.to_owned()]);
        assert!(check(own).is_ok());
        assert!(check("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
        assert!(matches!(
            check(foreign),
            Err(OpError::Invalid(m)) if m == format!("Policy {foreign} does not exist or is not attachable.")
        ));
    }

    #[test]
    fn unknown_managed_session_policies_are_refused() {
        let snapshot = Snapshot::default();
        let account = AccountId::from_u64(1).unwrap();
        let check = |policy: Option<&String>, arns: &[String]| {
            check_policies(&snapshot, account, policy, arns)
        };
        assert!(check(None, &[]).is_ok());
        assert!(matches!(
            check(None, &["arn:aws:iam::1:policy/Missing".to_owned()]),
            Err(OpError::Invalid(m)) if m.contains("does not exist or is not attachable")
        ));
        assert!(matches!(
            check(Some(&"{".to_owned()), &[]),
            Err(OpError::SessionPolicy(_))
        ));
        let many: Vec<String> = (0..11)
            .map(|i| format!("arn:aws:iam::1:policy/p{i}"))
            .collect();
        assert!(matches!(check(None, &many), Err(OpError::Invalid(m)) if m.contains("limit")));
    }
}
