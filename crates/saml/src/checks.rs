//! The checks on a verified assertion that do not depend on AWS's attributes: issuer, times,
//! bearer confirmation, recipient and audience.

use crate::SamlError;
use crate::metadata::Metadata;
use crate::response::{Assertion, Confirmation};
use time::{Duration, OffsetDateTime};

/// How assertions are judged.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The provider's metadata.
    pub metadata: &'a Metadata,
    /// The provider's `SAMLProviderUUID`, substituted for `{idp-id}` in URL patterns.
    pub provider_id: &'a str,
    /// Accepted `Audience` values (patterns, see [`pattern_matches`]).
    pub audiences: &'a [String],
    /// Accepted `Recipient`/`Destination` URLs (patterns).
    pub recipients: &'a [String],
    /// Server time.
    pub now: OffsetDateTime,
    /// Tolerated clock difference with the identity provider.
    pub skew: Duration,
}

/// What the checks establish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The bearer confirmation's recipient (STS returns it as `Audience`, and it is `saml:aud`).
    pub recipient: String,
    /// When the assertion stops being usable (the earliest `NotOnOrAfter`); its single-use
    /// record can be forgotten after this instant plus the skew.
    pub usable_until: OffsetDateTime,
}

/// Whether `value` matches `pattern`, where `{region}` stands for one DNS label
/// (`[a-z0-9-]+`) and `{idp-id}` for the provider's id.
pub fn pattern_matches(pattern: &str, value: &str, provider_id: &str) -> bool {
    let pattern = pattern.replace("{idp-id}", provider_id);
    let mut parts = pattern.split("{region}");
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for literal in parts {
        // The label runs up to the next literal; labels cannot contain the literal's first
        // character when it is a dot or slash, which is how AWS URLs are built.
        let label_len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        if label_len == 0 {
            return false;
        }
        let Some(after) = rest.get(label_len..).and_then(|r| r.strip_prefix(literal)) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

fn accepted(patterns: &[String], value: &str, provider_id: &str) -> bool {
    patterns
        .iter()
        .any(|p| pattern_matches(p, value, provider_id))
}

/// Checks a verified assertion.
pub fn check(assertion: &Assertion, expect: &Expectations<'_>) -> Result<Checked, SamlError> {
    let now = expect.now;
    if expect.metadata.valid_until.is_some_and(|v| v <= now) {
        return Err(SamlError::ProviderExpired);
    }
    let entity = expect.metadata.entity_id.as_str();
    if assertion.issuer != entity
        || assertion
            .response_issuer
            .as_deref()
            .is_some_and(|i| i != entity)
    {
        return Err(SamlError::Issuer);
    }
    if assertion.not_before.is_some_and(|t| t > now + expect.skew) {
        return Err(SamlError::Rejected(
            "The assertion is not yet valid (Conditions NotBefore).".to_owned(),
        ));
    }
    if assertion
        .not_on_or_after
        .is_some_and(|t| t <= now - expect.skew)
    {
        return Err(SamlError::Expired);
    }
    let [
        Confirmation {
            recipient,
            not_before,
            not_on_or_after,
        },
    ] = assertion.confirmations.as_slice()
    else {
        return Err(SamlError::Malformed(
            "The assertion must have exactly one bearer SubjectConfirmation.".to_owned(),
        ));
    };
    let (Some(recipient), Some(confirmation_end)) = (recipient, not_on_or_after) else {
        return Err(SamlError::Malformed(
            "SubjectConfirmationData must carry NotOnOrAfter and Recipient.".to_owned(),
        ));
    };
    if not_before.is_some_and(|t| t > now + expect.skew) {
        return Err(SamlError::Rejected(
            "The assertion is not yet valid (SubjectConfirmationData NotBefore).".to_owned(),
        ));
    }
    if *confirmation_end <= now - expect.skew {
        return Err(SamlError::Expired);
    }
    if !accepted(expect.recipients, recipient, expect.provider_id)
        || assertion
            .destination
            .as_deref()
            .is_some_and(|d| !accepted(expect.recipients, d, expect.provider_id))
    {
        return Err(SamlError::Recipient);
    }
    let audiences_ok = !assertion.audience_restrictions.is_empty()
        && assertion.audience_restrictions.iter().all(|restriction| {
            restriction
                .iter()
                .any(|a| accepted(expect.audiences, a, expect.provider_id))
        });
    if !audiences_ok {
        return Err(SamlError::Audience);
    }
    let usable_until = assertion
        .not_on_or_after
        .map_or(*confirmation_end, |c| c.min(*confirmation_end));
    Ok(Checked {
        recipient: recipient.clone(),
        usable_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = "https://{region}.signin.aws.amazon.com/saml";
        assert!(pattern_matches(
            p,
            "https://eu-west-1.signin.aws.amazon.com/saml",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "https://.signin.aws.amazon.com/saml",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "https://evil.com/a.signin.aws.amazon.com/saml",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "https://a.b.signin.aws.amazon.com/saml",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "https://eu-west-1.signin.aws.amazon.com/saml/x",
            "x"
        ));
        let acs = "https://signin.aws.amazon.com/saml/acs/{idp-id}";
        assert!(pattern_matches(
            acs,
            "https://signin.aws.amazon.com/saml/acs/ABC123",
            "ABC123"
        ));
        assert!(!pattern_matches(
            acs,
            "https://signin.aws.amazon.com/saml/acs/OTHER",
            "ABC123"
        ));
        assert!(pattern_matches(
            "urn:amazon:webservices",
            "urn:amazon:webservices",
            "x"
        ));
        assert!(!pattern_matches(
            "urn:amazon:webservices",
            "urn:amazon:webservices2",
            "x"
        ));
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;
    use crate::metadata::SigningKey;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);
    const ENTITY: &str = "https://idp.example.test/saml";
    const AWS: &str = "https://signin.aws.amazon.com/saml";

    fn metadata(valid_until: Option<OffsetDateTime>) -> Metadata {
        Metadata {
            entity_id: ENTITY.to_owned(),
            valid_until,
            keys: Vec::<SigningKey>::new(),
        }
    }

    fn assertion() -> Assertion {
        Assertion {
            id: "_a".to_owned(),
            issuer: ENTITY.to_owned(),
            response_issuer: Some(ENTITY.to_owned()),
            destination: Some(AWS.to_owned()),
            name_id: None,
            confirmations: vec![Confirmation {
                recipient: Some(AWS.to_owned()),
                not_before: None,
                not_on_or_after: Some(NOW + Duration::minutes(5)),
            }],
            not_before: Some(NOW - Duration::minutes(1)),
            not_on_or_after: Some(NOW + Duration::minutes(10)),
            audience_restrictions: vec![vec![AWS.to_owned()]],
            session_not_on_or_after: None,
            attributes: Vec::new(),
        }
    }

    fn run(
        edit: impl FnOnce(&mut Assertion),
        valid_until: Option<OffsetDateTime>,
    ) -> Result<Checked, SamlError> {
        let mut a = assertion();
        edit(&mut a);
        let md = metadata(valid_until);
        let patterns = vec![AWS.to_owned(), "urn:amazon:webservices".to_owned()];
        check(
            &a,
            &Expectations {
                metadata: &md,
                provider_id: "ID1",
                audiences: &patterns,
                recipients: &patterns,
                now: NOW,
                skew: Duration::minutes(5),
            },
        )
    }

    #[test]
    fn a_good_assertion_passes_and_is_usable_until_the_earliest_end() {
        let checked = run(|_| {}, None).expect("valid");
        assert_eq!(checked.recipient, AWS);
        assert_eq!(checked.usable_until, NOW + Duration::minutes(5));
    }

    #[test]
    fn issuer_rules() {
        assert_eq!(
            run(|a| a.issuer = "https://evil".into(), None),
            Err(SamlError::Issuer)
        );
        assert_eq!(
            run(|a| a.response_issuer = Some("https://evil".into()), None),
            Err(SamlError::Issuer)
        );
        assert!(run(|a| a.response_issuer = None, None).is_ok());
    }

    #[test]
    fn metadata_expiry() {
        assert_eq!(run(|_| {}, Some(NOW)), Err(SamlError::ProviderExpired));
        assert!(run(|_| {}, Some(NOW + Duration::seconds(1))).is_ok());
    }

    #[test]
    fn condition_times_with_skew() {
        assert!(run(|a| a.not_before = Some(NOW + Duration::minutes(5)), None).is_ok());
        assert!(matches!(
            run(|a| a.not_before = Some(NOW + Duration::minutes(6)), None),
            Err(SamlError::Rejected(_))
        ));
        assert!(
            run(
                |a| a.not_on_or_after = Some(NOW - Duration::minutes(4)),
                None
            )
            .is_ok()
        );
        assert_eq!(
            run(
                |a| a.not_on_or_after = Some(NOW - Duration::minutes(5)),
                None
            ),
            Err(SamlError::Expired)
        );
    }

    #[test]
    fn bearer_confirmation_rules() {
        assert!(matches!(
            run(|a| a.confirmations.clear(), None),
            Err(SamlError::Malformed(_))
        ));
        assert!(matches!(
            run(|a| a.confirmations.push(a.confirmations[0].clone()), None),
            Err(SamlError::Malformed(_))
        ));
        assert!(matches!(
            run(|a| a.confirmations[0].recipient = None, None),
            Err(SamlError::Malformed(_))
        ));
        assert!(matches!(
            run(|a| a.confirmations[0].not_on_or_after = None, None),
            Err(SamlError::Malformed(_))
        ));
        assert_eq!(
            run(
                |a| a.confirmations[0].not_on_or_after = Some(NOW - Duration::minutes(6)),
                None
            ),
            Err(SamlError::Expired)
        );
        assert!(matches!(
            run(
                |a| a.confirmations[0].not_before = Some(NOW + Duration::minutes(6)),
                None
            ),
            Err(SamlError::Rejected(_))
        ));
    }

    #[test]
    fn recipient_and_destination_must_be_accepted() {
        assert_eq!(
            run(
                |a| a.confirmations[0].recipient = Some("https://evil/saml".into()),
                None
            ),
            Err(SamlError::Recipient)
        );
        assert_eq!(
            run(|a| a.destination = Some("https://evil/saml".into()), None),
            Err(SamlError::Recipient)
        );
        assert!(run(|a| a.destination = None, None).is_ok());
    }

    #[test]
    fn every_audience_restriction_must_name_us() {
        assert_eq!(
            run(|a| a.audience_restrictions.clear(), None),
            Err(SamlError::Audience)
        );
        assert_eq!(
            run(
                |a| a.audience_restrictions = vec![vec!["urn:other".into()]],
                None
            ),
            Err(SamlError::Audience)
        );
        assert_eq!(
            run(
                |a| a.audience_restrictions.push(vec!["urn:other".into()]),
                None
            ),
            Err(SamlError::Audience)
        );
        assert!(
            run(
                |a| a.audience_restrictions =
                    vec![vec!["urn:other".into(), "urn:amazon:webservices".into()]],
                None
            )
            .is_ok()
        );
    }
}
