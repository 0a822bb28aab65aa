//! The trust-policy algorithm of spec §3.0.9, one test per row of its decision table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use tessera_policy::{
    Context, Decision, Missing, Policies, Policy, PolicyKind, Principal, PrincipalKind, Request,
    authorize_assume,
};

const ROLE: &str = "arn:aws:iam::111122223333:role/Deploy";

fn trust(principal: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}}}"#),
        PolicyKind::Trust,
    )
    .unwrap()
}

fn identity(effect: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Statement":{{"Effect":"{effect}","Action":"sts:AssumeRole","Resource":"{ROLE}"}}}}"#),
        PolicyKind::Identity,
    )
    .unwrap()
}

fn alice(account: &str) -> Principal {
    Principal {
        kind: PrincipalKind::User,
        arn: format!("arn:aws:iam::{account}:user/alice"),
        account: account.into(),
        id: Some("AIDAALICE".into()),
        role_arn: None,
        federated: None,
    }
}

fn session() -> Principal {
    Principal {
        kind: PrincipalKind::AssumedRole,
        arn: "arn:aws:sts::111122223333:assumed-role/Builder/s1".into(),
        account: "111122223333".into(),
        id: Some("AROABUILDER".into()),
        role_arn: Some("arn:aws:iam::111122223333:role/Builder".into()),
        federated: None,
    }
}

fn decide(p: &Principal, policies: &Policies<'_>) -> Decision {
    let ctx = Context::new();
    authorize_assume(
        policies,
        &Request {
            principal: p,
            action: "sts:AssumeRole",
            resource: ROLE,
            resource_account: "111122223333",
            context: &ctx,
        },
        false,
    )
}

#[test]
fn direct_trust_needs_no_identity_policy_in_the_same_account() {
    let t = trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#);
    assert!(
        decide(
            &alice("111122223333"),
            &Policies {
                resource: Some(&t),
                ..Policies::default()
            }
        )
        .is_allowed()
    );
}

#[test]
fn account_level_trust_needs_an_identity_allow() {
    for principal in [
        r#"{"AWS":"111122223333"}"#,
        r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
        r#""*""#,
    ] {
        let t = trust(principal);
        let p = alice("111122223333");
        assert_eq!(
            decide(
                &p,
                &Policies {
                    resource: Some(&t),
                    ..Policies::default()
                }
            ),
            Decision::ImplicitDeny {
                missing: Missing::Identity
            },
            "{principal}"
        );
        let allow = identity("Allow");
        assert!(
            decide(
                &p,
                &Policies {
                    resource: Some(&t),
                    identity: vec![&allow],
                    ..Policies::default()
                }
            )
            .is_allowed()
        );
    }
}

#[test]
fn trust_must_allow_explicitly() {
    let t = trust(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#);
    let allow = identity("Allow");
    assert_eq!(
        decide(
            &alice("111122223333"),
            &Policies {
                resource: Some(&t),
                identity: vec![&allow],
                ..Policies::default()
            }
        ),
        Decision::ImplicitDeny {
            missing: Missing::Resource
        }
    );
    assert_eq!(
        decide(&alice("111122223333"), &Policies::default()),
        Decision::ImplicitDeny {
            missing: Missing::Resource
        }
    );
}

#[test]
fn explicit_denies_win_from_either_side() {
    let direct = trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#);
    let deny = identity("Deny");
    assert!(matches!(
        decide(
            &alice("111122223333"),
            &Policies {
                resource: Some(&direct),
                identity: vec![&deny],
                ..Policies::default()
            }
        ),
        Decision::ExplicitDeny { .. }
    ));
    let both = Policy::parse(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#,
        PolicyKind::Trust,
    )
    .unwrap();
    let allow = identity("Allow");
    assert!(matches!(
        decide(
            &alice("111122223333"),
            &Policies {
                resource: Some(&both),
                identity: vec![&allow],
                ..Policies::default()
            }
        ),
        Decision::ExplicitDeny { .. }
    ));
}

#[test]
fn cross_account_needs_both_sides_even_with_direct_trust() {
    let t = trust(r#"{"AWS":"arn:aws:iam::444455556666:user/alice"}"#);
    let p = alice("444455556666");
    assert_eq!(
        decide(
            &p,
            &Policies {
                resource: Some(&t),
                ..Policies::default()
            }
        ),
        Decision::ImplicitDeny {
            missing: Missing::Identity
        }
    );
    let allow = identity("Allow");
    assert!(
        decide(
            &p,
            &Policies {
                resource: Some(&t),
                identity: vec![&allow],
                ..Policies::default()
            }
        )
        .is_allowed()
    );
}

#[test]
fn trust_naming_the_role_of_a_session_still_applies_session_policies() {
    let t = trust(r#"{"AWS":"arn:aws:iam::111122223333:role/Builder"}"#);
    let p = session();
    assert!(
        decide(
            &p,
            &Policies {
                resource: Some(&t),
                ..Policies::default()
            }
        )
        .is_allowed()
    );
    let narrow = Policy::parse(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    assert_eq!(
        decide(
            &p,
            &Policies {
                resource: Some(&t),
                session: Some(vec![&narrow]),
                ..Policies::default()
            }
        ),
        Decision::ImplicitDeny {
            missing: Missing::Session
        }
    );
    let exact = trust(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Builder/s1"}"#);
    assert!(
        decide(
            &p,
            &Policies {
                resource: Some(&exact),
                session: Some(vec![&narrow]),
                ..Policies::default()
            }
        )
        .is_allowed(),
        "naming the exact session is not limited by its session policy"
    );
}

#[test]
fn federation_is_decided_by_the_trust_policy_alone() {
    let t = trust(r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/idp.example.com"}"#);
    let p = Principal {
        kind: PrincipalKind::WebIdentity,
        arn: String::new(),
        account: String::new(),
        id: None,
        role_arn: None,
        federated: Some("arn:aws:iam::111122223333:oidc-provider/idp.example.com".into()),
    };
    let ctx = Context::new();
    let req = Request {
        principal: &p,
        action: "sts:AssumeRole",
        resource: ROLE,
        resource_account: "111122223333",
        context: &ctx,
    };
    assert!(
        authorize_assume(
            &Policies {
                resource: Some(&t),
                ..Policies::default()
            },
            &req,
            true
        )
        .is_allowed()
    );
    let other =
        trust(r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/other.example.com"}"#);
    assert!(
        !authorize_assume(
            &Policies {
                resource: Some(&other),
                ..Policies::default()
            },
            &req,
            true
        )
        .is_allowed()
    );
}
