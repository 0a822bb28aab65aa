//! The table-driven policy suite: `tests/data/evaluation_cases.json` (one AWS rule per case,
//! most with a negative twin) and `tests/data/grammar_cases.json` (spec §5.9), plus property
//! tests of the combining rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use proptest::prelude::*;
use serde_json::Value as J;
use tessera_policy::{
    Context, Decision, Policies, Policy, PolicyKind, Principal, PrincipalKind, Request, authorize,
};

fn data(name: &str) -> Vec<J> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Vec<J>>(&text).unwrap()
}

fn parse(doc: &J, kind: PolicyKind, case: &str) -> Policy {
    Policy::parse(&doc.to_string(), kind)
        .unwrap_or_else(|e| panic!("{case}: policy does not parse: {e}\n{doc}"))
}

fn principal(case: &J) -> Principal {
    let p = &case["principal"];
    if p.is_null() {
        return Principal {
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            account: "111122223333".into(),
            id: Some("AIDAEXAMPLEALICE00001".into()),
            role_arn: None,
            federated: None,
        };
    }
    let kind = match p["type"].as_str().unwrap_or("User") {
        "User" => PrincipalKind::User,
        "AssumedRole" => PrincipalKind::AssumedRole,
        "FederatedUser" => PrincipalKind::FederatedUser,
        "Account" => PrincipalKind::Account,
        "WebIdentity" => PrincipalKind::WebIdentity,
        other => panic!("unknown principal type {other}"),
    };
    Principal {
        kind,
        arn: p["arn"].as_str().unwrap().into(),
        account: p["account"].as_str().unwrap().into(),
        id: p["id"].as_str().map(str::to_owned),
        role_arn: p["role_arn"].as_str().map(str::to_owned),
        federated: p["federated"].as_str().map(str::to_owned),
    }
}

fn context(case: &J) -> Context {
    let mut c = Context::new();
    if let Some(map) = case["context"].as_object() {
        for (k, v) in map {
            match v {
                J::Array(items) => {
                    c.set_multi(
                        k,
                        items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect(),
                    );
                }
                J::String(s) => {
                    c.set(k, s.clone());
                }
                other => {
                    c.set(k, other.to_string());
                }
            }
        }
    }
    c
}

fn outcome(d: &Decision) -> &'static str {
    match d {
        Decision::Allow { .. } => "Allow",
        Decision::ExplicitDeny { .. } => "ExplicitDeny",
        Decision::ImplicitDeny { .. } => "ImplicitDeny",
    }
}

#[test]
fn evaluation_cases() {
    let cases = data("evaluation_cases.json");
    assert!(cases.len() >= 300, "the suite has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let identity: Vec<Policy> = case["identity"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| parse(d, PolicyKind::Identity, name))
                    .collect()
            })
            .unwrap_or_default();
        let resource = (!case["resource_policy"].is_null())
            .then(|| parse(&case["resource_policy"], PolicyKind::Resource, name));
        let boundary = (!case["boundary"].is_null())
            .then(|| parse(&case["boundary"], PolicyKind::Identity, name));
        let session: Option<Vec<Policy>> = case["session"].as_array().map(|a| {
            a.iter()
                .map(|d| parse(d, PolicyKind::Identity, name))
                .collect()
        });
        let principal = principal(case);
        let ctx = context(case);
        let resource_account = case["resource_account"]
            .as_str()
            .map_or(principal.account.clone(), str::to_owned);
        let policies = Policies {
            identity: identity.iter().collect(),
            resource: resource.as_ref(),
            boundary: boundary.as_ref(),
            session: session.as_ref().map(|s| s.iter().collect()),
        };
        let decision = authorize(
            &policies,
            &Request {
                principal: &principal,
                action: case["action"].as_str().unwrap(),
                resource: case["resource"].as_str().unwrap_or("*"),
                resource_account: &resource_account,
                context: &ctx,
            },
        );
        let want = case["expect"].as_str().unwrap();
        if outcome(&decision) != want {
            failures.push(format!(
                "{name} ({}): want {want}, got {decision:?}",
                case["rule"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn grammar_cases() {
    let cases = data("grammar_cases.json");
    assert!(cases.len() >= 60, "the suite has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let kind = match case["kind"].as_str().unwrap() {
            "identity" => PolicyKind::Identity,
            "trust" => PolicyKind::Trust,
            "resource" => PolicyKind::Resource,
            other => panic!("{name}: unknown kind {other}"),
        };
        let result = Policy::parse(case["document"].as_str().unwrap(), kind);
        let want_valid = case["valid"].as_bool().unwrap();
        if result.is_ok() != want_valid {
            failures.push(format!("{name}: want valid={want_valid}, got {result:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} grammar cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn alice() -> Principal {
    Principal {
        kind: PrincipalKind::User,
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        account: "111122223333".into(),
        id: None,
        role_arn: None,
        federated: None,
    }
}

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "sts:AssumeRole",
    "iam:ListUsers",
    "*",
    "s3:*",
    "sts:Get*",
    "iam:List?sers",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:iam::111122223333:user/*",
    "arn:aws:iam::*:role/r",
];

fn statement() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        0..ACTIONS.len(),
        any::<bool>(),
        0..RESOURCES.len(),
    )
        .prop_map(|(allow, not_action, a, not_resource, r)| {
            format!(
                r#"{{"Effect":"{}","{}":"{}","{}":"{}"}}"#,
                if allow { "Allow" } else { "Deny" },
                if not_action { "NotAction" } else { "Action" },
                ACTIONS[a],
                if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                },
                RESOURCES[r]
            )
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    prop::collection::vec(statement(), 1..5).prop_map(|s| {
        Policy::parse(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                s.join(",")
            ),
            PolicyKind::Identity,
        )
        .unwrap()
    })
}

fn decide(
    identity: &[Policy],
    boundary: Option<&Policy>,
    action: &str,
    resource: &str,
) -> Decision {
    let p = alice();
    let ctx = Context::new();
    authorize(
        &Policies {
            identity: identity.iter().collect(),
            boundary,
            ..Policies::default()
        },
        &Request {
            principal: &p,
            action,
            resource,
            resource_account: "111122223333",
            context: &ctx,
        },
    )
}

proptest! {
    #[test]
    fn adding_a_matching_deny_never_allows(policies in prop::collection::vec(policy(), 0..3), a in 0..4usize, r in 1..3usize) {
        let (action, resource) = (ACTIONS[a], RESOURCES[r]);
        let deny = Policy::parse(&format!(r#"{{"Statement":{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}}}"#), PolicyKind::Identity).unwrap();
        let mut with_deny = policies.clone();
        with_deny.push(deny);
        let denied = matches!(decide(&with_deny, None, action, resource), Decision::ExplicitDeny { .. });
        prop_assert!(denied);
    }

    #[test]
    fn a_boundary_only_narrows(policies in prop::collection::vec(policy(), 0..3), boundary in policy(), a in 0..4usize, r in 1..3usize) {
        let (action, resource) = (ACTIONS[a], RESOURCES[r]);
        let bounded = decide(&policies, Some(&boundary), action, resource).is_allowed();
        let unbounded = decide(&policies, None, action, resource).is_allowed();
        prop_assert!(!bounded || unbounded);
    }

    #[test]
    fn policy_order_does_not_matter(mut policies in prop::collection::vec(policy(), 0..4), a in 0..4usize, r in 1..3usize) {
        let (action, resource) = (ACTIONS[a], RESOURCES[r]);
        let before = decide(&policies, None, action, resource).is_allowed();
        policies.reverse();
        prop_assert_eq!(before, decide(&policies, None, action, resource).is_allowed());
    }

    #[test]
    fn no_allow_statement_means_no_allow(denies in prop::collection::vec(0..ACTIONS.len(), 0..4), a in 0..4usize) {
        let stmts: Vec<String> = denies.iter().map(|i| format!(r#"{{"Effect":"Deny","Action":"{}","Resource":"*"}}"#, ACTIONS[*i])).collect();
        let doc = if stmts.is_empty() { r#"{"Statement":{"Effect":"Deny","Action":"x:y","Resource":"*"}}"#.to_owned() } else { format!(r#"{{"Statement":[{}]}}"#, stmts.join(",")) };
        let p = Policy::parse(&doc, PolicyKind::Identity).unwrap();
        prop_assert!(!decide(&[p], None, ACTIONS[a], "*").is_allowed());
    }
}
