//! `AssumeRoleWithSAML` (spec §3.2): a SAML 2.0 response, signed by an identity provider
//! registered in the role's account and naming the role in its `Role` attribute, buys a
//! session of a role whose trust policy names that provider. Each assertion is accepted once.

use super::assume_role::resolve_role;
use super::{OpContext, OpError, federated};
use crate::config::SamlConfig;
use crate::snapshot::SamlProvider;
use crate::store::Store;
use crate::tokens::Origin;
use aws_lc_rs::digest;
use base64::Engine;
use tessera_proto::sts::{AssumeRoleWithSaml, Response, SamlClaimsOut};
use tessera_proto::{AccountId, Arn};
use tessera_saml::{Assertion, Expectations, SamlError};
use time::Duration;

/// The action every refusal names.
const ACTION: &str = "sts:AssumeRoleWithSAML";
/// The default session length.
const ONE_HOUR: u32 = 3600;
/// The kind of single-use record an assertion id is.
const REPLAY_KIND: &str = "saml-assertion";
/// AWS's attributes.
const ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const ROLE_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
const PRINCIPAL_TAG: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
const SAML2_NAMEID_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
const UNSPECIFIED_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// Attributes that become `saml:<key>` condition keys (the IAM guide's eduPerson, eduOrg,
/// Active Directory and X.500 tables).
const MAPPED_ATTRIBUTES: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "edupersonorgunitdn"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "edupersonprimaryaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "edupersonentitlement"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "edupersonprimaryorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "edupersonscopedaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "edupersontargetedid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "edupersonassurance"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "eduorghomepageuri"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.3",
        "eduorgidentityauthnpolicyuri",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "eduorgsuperioruri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.6", "eduorgwhitepagesuri"),
    ("urn:oid:2.5.4.3", "cn"),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "name",
    ),
    ("http://schemas.xmlsoap.org/claims/CommonName", "commonName"),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        "givenName",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        "surname",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "mail",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        "uid",
    ),
    ("urn:oid:2.5.4.4", "surname"),
    ("urn:oid:2.5.4.42", "givenName"),
    ("urn:oid:2.5.4.45", "x500UniqueIdentifier"),
    ("urn:oid:0.9.2342.19200300100.1.1", "uid"),
    ("urn:oid:0.9.2342.19200300100.1.3", "mail"),
    ("urn:oid:0.9.2342.19200300.100.1.45", "organizationStatus"),
];

/// `InvalidIdentityToken` about an AWS attribute.
fn claim(why: impl Into<String>) -> OpError {
    OpError::SamlClaim(why.into())
}

/// `Base64(SHA1(issuer ‖ account ‖ "/" ‖ provider name))` (spec §3.2).
pub(crate) fn name_qualifier(issuer: &str, account: AccountId, provider: &str) -> String {
    let input = format!("{issuer}{account}/{provider}");
    let hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, input.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hash.as_ref())
}

/// Whether one value of the `Role` attribute names the requested role and provider (in
/// either order, as IdPs differ).
fn names_pair(value: &str, role_arn: &str, provider_arn: &str) -> bool {
    let mut parts = value.split(',').map(str::trim);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => {
            (a == role_arn && b == provider_arn) || (a == provider_arn && b == role_arn)
        }
        _ => false,
    }
}

fn session_name(assertion: &Assertion) -> Result<String, OpError> {
    let [name] = assertion.attribute(ROLE_SESSION_NAME)[..] else {
        return Err(claim("RoleSessionName is required in AuthnResponse"));
    };
    let len = name.chars().count();
    if !(2..=64).contains(&len)
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(claim(
            "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
        ));
    }
    Ok(name.to_owned())
}

fn session_duration(assertion: &Assertion) -> Result<Option<u32>, OpError> {
    match assertion.attribute(SESSION_DURATION)[..] {
        [] => Ok(None),
        [value] => value
            .parse::<u32>()
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .map(Some)
            .ok_or_else(|| {
                claim("SessionDuration in AuthnResponse must be an integer between 900 and 43200")
            }),
        _ => Err(claim(
            "SessionDuration in AuthnResponse must have one value",
        )),
    }
}

/// The `saml:*` condition keys and `saml:doc` of a verified assertion.
fn condition_keys(
    assertion: &Assertion,
    provider: &SamlProvider,
    recipient: &str,
    sub: &str,
    sub_type: &str,
    qualifier: &str,
) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = vec![
        ("saml:aud".to_owned(), vec![recipient.to_owned()]),
        ("saml:iss".to_owned(), vec![assertion.issuer.clone()]),
        ("saml:sub".to_owned(), vec![sub.to_owned()]),
        ("saml:sub_type".to_owned(), vec![sub_type.to_owned()]),
        ("saml:namequalifier".to_owned(), vec![qualifier.to_owned()]),
        (
            "saml:doc".to_owned(),
            vec![format!("{}/{}", provider.account, provider.name)],
        ),
    ];
    for (attribute, key) in MAPPED_ATTRIBUTES {
        let key = format!("saml:{key}");
        let values = assertion.attribute(attribute);
        // Only the first claim that maps to a key is used.
        if values.is_empty() || keys.iter().any(|(k, _)| *k == key) {
            continue;
        }
        keys.push((key, values.into_iter().map(str::to_owned).collect()));
    }
    keys
}

fn tags(assertion: &Assertion) -> Result<(crate::claims::SessionTags, Vec<String>), OpError> {
    let mut pairs = Vec::new();
    for (name, values) in &assertion.attributes {
        if let Some(key) = name.strip_prefix(PRINCIPAL_TAG) {
            let [value] = values.as_slice() else {
                return Err(claim(format!(
                    "The session tag '{key}' in AuthnResponse must have one value"
                )));
            };
            pairs.push((key.to_owned(), value.clone()));
        }
    }
    let transitive = assertion
        .attribute(TRANSITIVE_TAG_KEYS)
        .into_iter()
        .map(str::to_owned)
        .collect();
    crate::claims::session_tags(pairs, transitive)
        .map_err(|why| claim(format!("Invalid session tags in AuthnResponse: {why}")))
}

fn source_identity(assertion: &Assertion) -> Result<Option<String>, OpError> {
    match assertion.attribute(SOURCE_IDENTITY)[..] {
        [] => Ok(None),
        [si] => {
            crate::claims::source_identity(si)
                .map_err(|why| claim(format!("Invalid SourceIdentity in AuthnResponse: {why}")))?;
            Ok(Some(si.to_owned()))
        }
        _ => Err(claim("SourceIdentity in AuthnResponse must have one value")),
    }
}

pub(super) async fn run<S: Store>(
    store: &S,
    config: &SamlConfig,
    req: &AssumeRoleWithSaml,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    let xml = tessera_saml::decode(&req.saml_assertion)?;
    let role_arn = Arn::parse(&req.role_arn)
        .ok_or_else(|| OpError::Invalid(format!("{} is not a valid role ARN.", req.role_arn)))?;
    // A role can only trust providers of its own account. Deciding this from the two ARNs
    // alone, before any lookup, tells nothing about another account's providers.
    let provider_arn = Arn::parse(&req.principal_arn)
        .ok_or_else(|| OpError::SamlNoProvider(req.principal_arn.clone()))?;
    if provider_arn.account() != role_arn.account() {
        return Err(OpError::FederationDenied(ACTION));
    }
    let provider = ctx
        .snapshot
        .saml_provider(&req.principal_arn)
        .cloned()
        .ok_or_else(|| OpError::SamlNoProvider(req.principal_arn.clone()))?;
    let assertion = tessera_saml::verify(&xml, &provider.metadata.keys)?;
    let skew = Duration::seconds(i64::try_from(config.clock_skew_secs).unwrap_or(i64::MAX));
    let checked = tessera_saml::check(
        &assertion,
        &Expectations {
            metadata: &provider.metadata,
            provider_id: &provider.uuid,
            audiences: &config.audiences,
            recipients: &config.recipients,
            now: ctx.now,
            skew,
        },
    )?;
    let denied = || OpError::FederationDenied(ACTION);
    let name_id = assertion.name_id.clone().ok_or_else(denied)?;
    let pair_named = assertion
        .attribute(ROLE)
        .iter()
        .any(|v| names_pair(v, &req.role_arn, &provider.arn));
    if !pair_named {
        return Err(denied());
    }
    let session_name = session_name(&assertion)?;
    let attribute_duration = session_duration(&assertion)?;
    let source_identity = source_identity(&assertion)?;
    let (tags, transitive_tag_keys) = tags(&assertion)?;
    let role = resolve_role(&role_arn, ctx).ok_or_else(denied)?;

    let mut secs = req
        .duration
        .map_or(ONE_HOUR, |d| d.get())
        .min(attribute_duration.unwrap_or(u32::MAX));
    if let Some(end) = assertion.session_not_on_or_after {
        let left = (end - ctx.now).whole_seconds();
        if left <= 0 {
            return Err(SamlError::Expired.into());
        }
        secs = secs.min(u32::try_from(left).unwrap_or(u32::MAX));
    }

    let format = name_id.format.as_deref().unwrap_or(UNSPECIFIED_FORMAT);
    let subject_type = format
        .strip_prefix(SAML2_NAMEID_PREFIX)
        .unwrap_or(format)
        .to_owned();
    let qualifier = name_qualifier(&assertion.issuer, provider.account, &provider.name);
    let keys = condition_keys(
        &assertion,
        &provider,
        &checked.recipient,
        &name_id.value,
        &subject_type,
        &qualifier,
    );

    // Single use: the record outlives the assertion by the skew it was accepted with.
    let replay_id = format!("{}\n{}", assertion.issuer, assertion.id);
    let forget_at = (checked.usable_until + skew).unix_timestamp();
    if !store
        .claim_once(REPLAY_KIND, &replay_id, forget_at, ctx.now.unix_timestamp())
        .await?
    {
        return Err(OpError::SamlReplay);
    }

    let session = federated::assume(
        ctx,
        role,
        federated::Identity {
            provider_arn: provider.arn.clone(),
            provider_account: provider.account,
            action: ACTION,
            origin: Origin::AssumeRoleWithSaml,
            session_name,
            keys,
            tags,
            transitive_tag_keys,
            source_identity,
        },
        federated::Ask {
            requested: req.duration.map(|d| d.get()),
            secs,
            policy: req.policy.as_ref(),
            policy_arns: &req.policy_arns,
        },
    )?;
    Ok(Response::Saml {
        session: Box::new(session),
        claims: Box::new(SamlClaimsOut {
            subject: name_id.value,
            subject_type,
            issuer: assertion.issuer,
            audience: checked.recipient,
            name_qualifier: qualifier,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_qualifier_known_answer() {
        let account = AccountId::parse("123456789012").expect("valid account");
        assert_eq!(
            name_qualifier("https://example.com/saml", account, "MySAMLIdP"),
            "1uAJanUnBc2XeUkHURMht+xam2c="
        );
    }

    #[test]
    fn role_pairs_in_either_order() {
        let role = "arn:aws:iam::123456789012:role/r";
        let idp = "arn:aws:iam::123456789012:saml-provider/p";
        assert!(names_pair(&format!("{role},{idp}"), role, idp));
        assert!(names_pair(&format!("{idp}, {role}"), role, idp));
        assert!(!names_pair(&format!("{role},{role}"), role, idp));
        assert!(!names_pair(role, role, idp));
        assert!(!names_pair(&format!("{role},{idp},x"), role, idp));
        assert!(!names_pair(&format!("{role}x,{idp}"), role, idp));
    }
}
