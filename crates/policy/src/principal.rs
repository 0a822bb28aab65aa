//! The `Principal` / `NotPrincipal` element (spec §5.3) and how a request's principal matches it.

use crate::context::{Principal, PrincipalKind};

/// One principal value of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PrincipalValue {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// `{"AWS": …}`: an account id, a root/user/role/session ARN, or a unique id.
    Aws(String),
    /// `{"Federated": …}`: an identity provider.
    Federated(String),
    /// `{"Service": …}`: an AWS service; never matched by this server.
    Service(String),
    /// `{"CanonicalUser": …}`: S3 only; never matched by this server.
    CanonicalUser(String),
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account named by `arn:<partition>:iam::<account>:root`.
fn root_account(arn: &str) -> Option<&str> {
    // Most values are user or role ARNs: refuse them before splitting.
    if !arn.ends_with(":root") {
        return None;
    }
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some("root")) => Some(account),
        _ => None,
    }
}

impl PrincipalValue {
    /// Whether the value names the request's principal.
    pub(crate) fn matches(&self, p: &Principal) -> bool {
        match self {
            Self::Everyone => true,
            Self::Aws(v) => {
                if is_account_id(v) {
                    return p.account == *v;
                }
                if let Some(account) = root_account(v) {
                    return p.account == account;
                }
                p.arn == *v
                    || p.id.as_deref() == Some(v.as_str())
                    || (p.kind == PrincipalKind::AssumedRole
                        && p.role_arn.as_deref() == Some(v.as_str()))
            }
            Self::Federated(v) => p.federated.as_deref() == Some(v.as_str()),
            Self::Service(_) | Self::CanonicalUser(_) => false,
        }
    }

    /// Whether the value names one layer of the principal's identity chain exactly (used by
    /// `NotPrincipal`, which AWS checks layer by layer: account, role, session or user).
    fn names_layer(&self, layer: &Layer<'_>) -> bool {
        match (self, layer) {
            (Self::Everyone, _) => true,
            (Self::Aws(v), Layer::Account(a)) => v == a || root_account(v) == Some(a),
            (Self::Aws(v), Layer::Entity { arn, id }) => v == arn || Some(v.as_str()) == *id,
            (Self::Federated(v), Layer::Provider(p)) => v == p,
            _ => false,
        }
    }

    /// Whether the value names this principal itself, rather than its account or everyone
    /// (spec §5.8: such grants are not limited by the principal's implicit denies). A role ARN
    /// names the role, not the session, so it does not count.
    pub(crate) fn names_exactly(&self, p: &Principal) -> bool {
        match self {
            Self::Aws(v) => {
                p.arn == *v
                    && matches!(
                        p.kind,
                        PrincipalKind::User
                            | PrincipalKind::AssumedRole
                            | PrincipalKind::FederatedUser
                    )
            }
            Self::Everyone | Self::Federated(_) | Self::Service(_) | Self::CanonicalUser(_) => {
                false
            }
        }
    }
}

/// One identity in a principal's chain.
enum Layer<'a> {
    Account(&'a str),
    Entity { arn: &'a str, id: Option<&'a str> },
    Provider(&'a str),
}

fn layers(p: &Principal) -> Vec<Layer<'_>> {
    let mut out = vec![Layer::Account(&p.account)];
    match p.kind {
        PrincipalKind::Account => {}
        PrincipalKind::User | PrincipalKind::FederatedUser => {
            out.push(Layer::Entity {
                arn: &p.arn,
                id: p.id.as_deref(),
            });
        }
        PrincipalKind::AssumedRole => {
            if let Some(role) = &p.role_arn {
                out.push(Layer::Entity {
                    arn: role,
                    id: p.id.as_deref(),
                });
            }
            out.push(Layer::Entity {
                arn: &p.arn,
                id: None,
            });
        }
        PrincipalKind::WebIdentity => {
            out.clear();
            if let Some(provider) = &p.federated {
                out.push(Layer::Provider(provider));
            }
        }
    }
    out
}

/// Whether a `NotPrincipal` list excludes the principal: only if it names every layer of its
/// chain (so listing an account alone does not exempt that account's users or roles).
pub(crate) fn not_principal_excludes(values: &[PrincipalValue], p: &Principal) -> bool {
    let chain = layers(p);
    !chain.is_empty()
        && chain
            .iter()
            .all(|l| values.iter().any(|v| v.names_layer(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Principal {
        Principal {
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::111122223333:assumed-role/Deploy/s1".into(),
            account: "111122223333".into(),
            id: Some("AROAEXAMPLE".into()),
            role_arn: Some("arn:aws:iam::111122223333:role/Deploy".into()),
            federated: None,
        }
    }

    #[test]
    fn a_role_session_matches_its_role_session_account_and_everyone() {
        let p = session();
        for v in [
            "arn:aws:iam::111122223333:role/Deploy",
            "arn:aws:sts::111122223333:assumed-role/Deploy/s1",
            "111122223333",
            "arn:aws:iam::111122223333:root",
            "AROAEXAMPLE",
        ] {
            assert!(PrincipalValue::Aws(v.into()).matches(&p), "{v}");
        }
        assert!(PrincipalValue::Everyone.matches(&p));
        for v in [
            "444455556666",
            "arn:aws:iam::111122223333:role/Other",
            "arn:aws:sts::111122223333:assumed-role/Deploy/s2",
        ] {
            assert!(!PrincipalValue::Aws(v.into()).matches(&p), "{v}");
        }
        assert!(!PrincipalValue::Service("ec2.amazonaws.com".into()).matches(&p));
        assert!(PrincipalValue::Aws(p.arn.clone()).names_exactly(&p));
        assert!(
            !PrincipalValue::Aws("arn:aws:iam::111122223333:role/Deploy".into()).names_exactly(&p)
        );
    }
}
