//! Differential test against `@cloud-copilot/iam-simulate` (an independent implementation of
//! AWS's evaluation logic, run by `tests/differential/simulate.mjs` under Node): generated
//! policies and requests go through both engines, and every decision must agree.
//!
//! Where the two differ and AWS's documentation sides with us, the case is a fixture in
//! `tests/differential/known-divergences.jsonl`, named after the divergence: we must give AWS's
//! answer and iam-simulate must still give its own (so an upgrade that fixes it is noticed).
//! `smoke.jsonl` holds hand-checked cases both engines must answer as AWS does.
//!
//! The generator stays inside what iam-simulate models (tests/differential/README.md: real
//! actions and ARNs, 2012-10-17 policies, explicit context, no NotPrincipal). Needs Node and
//! `npm ci` in `tests/differential` (the test command does both).
//! `TESSERA_DIFF_CASES` and `TESSERA_DIFF_SEED` widen a run by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use serde_json::{Value as J, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use tessera_policy::{
    Context, Decision, Policies, Policy, PolicyKind, Principal, PrincipalKind, Request, authorize,
};

const A: &str = "111122223333";
const B: &str = "444455556666";

fn driver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/differential")
}

/// Runs cases through iam-simulate; one result object per case, in order.
fn simulate(cases: &[J]) -> Vec<J> {
    let dir = driver_dir();
    assert!(
        dir.join("node_modules/@cloud-copilot/iam-simulate")
            .is_dir(),
        "iam-simulate is not installed: run `npm ci` in {} (scripts/test does)",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("simulate.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node must be installed to run the differential test");
    {
        let mut stdin = child.stdin.take().unwrap();
        for case in cases {
            writeln!(stdin, "{case}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "simulate.mjs failed: {:?}",
        out.status
    );
    let results: Vec<J> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), cases.len(), "one result per case");
    results
}

/// The principal a case's ARN names, as the server would build it.
fn principal_of(arn: &str) -> Principal {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let account = parts[4].to_owned();
    let resource = parts[5];
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let role = rest.split('/').next().unwrap();
        Principal {
            kind: PrincipalKind::AssumedRole,
            arn: arn.to_owned(),
            id: Some("AROAEXAMPLEROLE000001".into()),
            role_arn: Some(format!("arn:aws:iam::{account}:role/{role}")),
            account,
            federated: None,
        }
    } else if resource.starts_with("federated-user/") {
        Principal {
            kind: PrincipalKind::FederatedUser,
            arn: arn.to_owned(),
            id: None,
            role_arn: None,
            account,
            federated: None,
        }
    } else {
        assert!(resource.starts_with("user/"), "unsupported principal {arn}");
        Principal {
            kind: PrincipalKind::User,
            arn: arn.to_owned(),
            id: Some("AIDAEXAMPLEUSER000001".into()),
            role_arn: None,
            account,
            federated: None,
        }
    }
}

/// Tessera's decision for a case, in the driver's words.
fn ours(case: &J) -> String {
    let parse = |doc: &J, kind| {
        Policy::parse(doc.as_str().unwrap(), kind)
            .unwrap_or_else(|e| panic!("{}: we refuse a policy: {e}\n{doc}", case["id"]))
    };
    let identity: Vec<Policy> = case["identity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| parse(d, PolicyKind::Identity))
        .collect();
    let resource = (!case["resource_policy"].is_null())
        .then(|| parse(&case["resource_policy"], PolicyKind::Resource));
    let boundary =
        (!case["boundary"].is_null()).then(|| parse(&case["boundary"], PolicyKind::Identity));
    let session: Option<Vec<Policy>> = case["session"].as_array().map(|list| {
        list.iter()
            .map(|d| parse(d, PolicyKind::Identity))
            .collect()
    });
    let mut context = Context::new();
    for (k, v) in case["context"].as_object().unwrap() {
        match v {
            J::Array(items) => {
                context.set_multi(
                    k,
                    items
                        .iter()
                        .map(|i| i.as_str().unwrap().to_owned())
                        .collect(),
                );
            }
            J::String(s) => {
                context.set(k, s.clone());
            }
            other => panic!("context value {other}"),
        }
    }
    let principal = principal_of(case["principal"].as_str().unwrap());
    let policies = Policies {
        identity: identity.iter().collect(),
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: session.as_ref().map(|s| s.iter().collect()),
    };
    let request = Request {
        principal: &principal,
        action: case["action"].as_str().unwrap(),
        resource: case["resource"].as_str().unwrap(),
        resource_account: case["resource_account"].as_str().unwrap(),
        context: &context,
    };
    match authorize(&policies, &request) {
        Decision::Allow { .. } => "Allow",
        Decision::ExplicitDeny { .. } => "ExplicitDeny",
        Decision::ImplicitDeny { .. } => "ImplicitDeny",
    }
    .to_owned()
}

fn fixture(name: &str) -> Vec<J> {
    let path = driver_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// SplitMix64: a small, fixed generator, so a seed names a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a request can target: an action, its resource ARN, whether the service takes
/// resource policies, and the patterns statements may use for both.
struct Target {
    action: &'static str,
    resource: &'static str,
    resource_policies: bool,
    actions: &'static [&'static str],
    resources: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::photos/2026/a.jpg",
        resource_policies: true,
        actions: &[
            "s3:GetObject",
            "s3:Get*",
            "s3:*Object",
            "S3:getobject",
            "s3:PutObject",
        ],
        resources: &[
            "arn:aws:s3:::photos/*",
            "arn:aws:s3:::photos/2026/?.jpg",
            "arn:aws:s3:::photos",
            "arn:aws:s3:::photos/2025/*",
            "arn:aws:s3:::*/2026/*",
        ],
    },
    Target {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::home/alice/notes.txt",
        resource_policies: true,
        actions: &["s3:GetObject", "s3:Get*", "s3:List*"],
        resources: &[
            "arn:aws:s3:::home/${aws:username}/*",
            "arn:aws:s3:::home/${aws:username, 'nobody'}/*",
            "arn:aws:s3:::home/*",
            "arn:aws:s3:::home/bob/*",
        ],
    },
    Target {
        action: "s3:ListBucket",
        resource: "arn:aws:s3:::photos",
        resource_policies: true,
        actions: &["s3:ListBucket", "s3:List*", "s3:Get*"],
        resources: &[
            "arn:aws:s3:::photos",
            "arn:aws:s3:::photos/*",
            "arn:aws:s3:::pho*",
        ],
    },
    Target {
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
        resource_policies: false,
        actions: &[
            "dynamodb:GetItem",
            "dynamodb:Get*",
            "dynamodb:*",
            "dynamodb:PutItem",
        ],
        resources: &[
            "arn:aws:dynamodb:*:111122223333:table/*",
            "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
            "arn:aws:dynamodb:us-east-1:444455556666:table/*",
        ],
    },
    Target {
        action: "sqs:SendMessage",
        resource: "arn:aws:sqs:us-east-1:111122223333:jobs",
        resource_policies: true,
        actions: &[
            "sqs:SendMessage",
            "sqs:Send*",
            "sqs:*",
            "sqs:ReceiveMessage",
        ],
        resources: &[
            "arn:aws:sqs:us-east-1:111122223333:*",
            "arn:aws:sqs:*:*:jobs",
            "arn:aws:sqs:us-east-1:111122223333:jo?s",
        ],
    },
    Target {
        action: "sns:Publish",
        resource: "arn:aws:sns:us-east-1:111122223333:alerts",
        resource_policies: true,
        actions: &["sns:Publish", "sns:*", "sns:Pub*"],
        resources: &[
            "arn:aws:sns:*:*:alerts",
            "arn:aws:sns:us-east-1:111122223333:alerts-*",
        ],
    },
    Target {
        action: "lambda:InvokeFunction",
        resource: "arn:aws:lambda:us-east-1:111122223333:function:resize",
        resource_policies: true,
        actions: &["lambda:InvokeFunction", "lambda:Invoke*", "lambda:*"],
        resources: &[
            "arn:aws:lambda:us-east-1:111122223333:function:res*",
            "arn:aws:lambda:us-east-1:111122223333:function:other",
        ],
    },
    Target {
        action: "ec2:DescribeInstances",
        resource: "*",
        resource_policies: false,
        actions: &["ec2:DescribeInstances", "ec2:Describe*", "ec2:*"],
        resources: &["arn:aws:ec2:us-east-1:111122223333:instance/*"],
    },
    Target {
        action: "iam:GetUser",
        resource: "arn:aws:iam::111122223333:user/alice",
        resource_policies: false,
        actions: &["iam:GetUser", "iam:Get*", "iam:*", "iam:List*"],
        resources: &[
            "arn:aws:iam::111122223333:user/*",
            "arn:aws:iam::111122223333:user/al?ce",
            "arn:aws:iam::111122223333:user/${aws:username}",
            "arn:aws:iam::444455556666:user/*",
        ],
    },
];

/// Who asks: its ARN, and whether it is a role session.
const PRINCIPALS: &[(&str, bool)] = &[
    ("arn:aws:iam::111122223333:user/alice", false),
    ("arn:aws:iam::111122223333:user/dev/bob", false),
    ("arn:aws:sts::111122223333:assumed-role/app/s1", true),
    ("arn:aws:iam::444455556666:user/carol", false),
];

/// Conditions as `(operator, key, values)`.
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    ("StringEquals", "aws:PrincipalTag/team", &["platform"]),
    ("StringNotEquals", "aws:PrincipalTag/team", &["platform"]),
    (
        "StringEqualsIgnoreCase",
        "aws:PrincipalTag/team",
        &["PLATFORM"],
    ),
    ("StringLike", "aws:PrincipalTag/team", &["plat*", "d?ta"]),
    ("StringNotLike", "aws:PrincipalTag/team", &["plat*"]),
    ("StringEqualsIfExists", "aws:PrincipalTag/team", &["data"]),
    ("StringNotEqualsIfExists", "aws:RequestTag/env", &["prod"]),
    ("StringEquals", "aws:RequestTag/env", &["prod", "dev"]),
    (
        "StringEquals",
        "aws:RequestedRegion",
        &["us-east-1", "us-west-2"],
    ),
    ("StringEquals", "aws:PrincipalAccount", &["111122223333"]),
    ("StringLike", "aws:username", &["al*"]),
    (
        "StringEquals",
        "aws:PrincipalTag/team",
        &["${aws:username}"],
    ),
    ("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]),
    (
        "IpAddress",
        "aws:SourceIp",
        &["2001:db8::/32", "192.168.0.0/16"],
    ),
    ("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]),
    ("IpAddressIfExists", "aws:SourceIp", &["192.168.0.0/24"]),
    (
        "DateGreaterThan",
        "aws:CurrentTime",
        &["2026-01-01T00:00:00Z"],
    ),
    ("DateLessThan", "aws:CurrentTime", &["2026-06-01T00:00:00Z"]),
    (
        "DateNotEquals",
        "aws:CurrentTime",
        &["2026-11-24T10:00:00Z"],
    ),
    ("Bool", "aws:MultiFactorAuthPresent", &["true"]),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", &["true"]),
    ("Bool", "aws:SecureTransport", &["false"]),
    ("NumericLessThan", "aws:MultiFactorAuthAge", &["3600"]),
    (
        "NumericGreaterThanEquals",
        "aws:MultiFactorAuthAge",
        &["100"],
    ),
    ("NumericLessThanIfExists", "aws:MultiFactorAuthAge", &["60"]),
    ("NumericNotEquals", "aws:MultiFactorAuthAge", &["30"]),
    ("Null", "aws:PrincipalTag/team", &["true"]),
    ("Null", "aws:PrincipalTag/team", &["false"]),
    ("Null", "aws:TagKeys", &["false"]),
    ("ForAnyValue:StringEquals", "aws:TagKeys", &["env", "cost"]),
    (
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        &["env", "owner"],
    ),
    ("ForAllValues:StringLike", "aws:TagKeys", &["e*"]),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", &["env"]),
    ("ForAnyValue:StringLike", "aws:TagKeys", &["own*"]),
    (
        "ArnLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::111122223333:user/*"],
    ),
    (
        "ArnNotLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::111122223333:user/alice"],
    ),
    (
        "ArnEquals",
        "aws:PrincipalArn",
        &["arn:aws:sts::111122223333:assumed-role/app/*"],
    ),
    (
        "ArnLike",
        "aws:SourceArn",
        &["arn:aws:sns:us-east-1:111122223333:*"],
    ),
];

fn condition_block(rng: &mut Rng, user: bool) -> Option<J> {
    let n = match rng.below(10) {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    };
    let mut block = serde_json::Map::new();
    for _ in 0..n {
        let (op, key, values) = *rng.pick(CONDITIONS);
        // Variables of keys a role session does not have would never match in either engine,
        // which tests nothing.
        if !user && values.iter().any(|v| v.contains("${")) {
            continue;
        }
        let entry = block
            .entry(op.to_owned())
            .or_insert_with(|| J::Object(serde_json::Map::new()));
        entry
            .as_object_mut()
            .unwrap()
            .insert(key.to_owned(), json!(values));
    }
    (!block.is_empty()).then_some(J::Object(block))
}

fn statement(rng: &mut Rng, t: &Target, user: bool, principal: Option<J>, deny_weight: u64) -> J {
    let mut s = serde_json::Map::new();
    if rng.chance(30) {
        s.insert("Sid".into(), json!(format!("S{:016x}", rng.next())));
    }
    let effect = if rng.chance(deny_weight) {
        "Deny"
    } else {
        "Allow"
    };
    s.insert("Effect".into(), json!(effect));
    if let Some(p) = principal {
        s.insert("Principal".into(), p);
    }
    let mut actions = vec![*rng.pick(t.actions)];
    if rng.chance(15) {
        actions.push(*rng.pick(&["*", "s3:*", "ec2:Describe*", "iam:Get*"]));
    }
    let action_key = if rng.chance(10) {
        "NotAction"
    } else {
        "Action"
    };
    s.insert(action_key.into(), json!(actions));
    let resource_patterns: Vec<&str> = t
        .resources
        .iter()
        .copied()
        .filter(|r| user || !r.contains("${"))
        .collect();
    let resource = match rng.below(10) {
        0..=2 => json!("*"),
        3..=4 => json!(t.resource),
        _ => json!([*rng.pick(&resource_patterns)]),
    };
    let resource_key = if rng.chance(8) && resource != json!("*") {
        "NotResource"
    } else {
        "Resource"
    };
    s.insert(resource_key.into(), resource);
    if let Some(c) = condition_block(rng, user) {
        s.insert("Condition".into(), c);
    }
    J::Object(s)
}

fn document(statements: Vec<J>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn context(rng: &mut Rng, principal: &str, user: bool) -> J {
    let mut c = serde_json::Map::new();
    let account = principal.split(':').nth(4).unwrap();
    c.insert("aws:PrincipalArn".into(), json!(principal));
    c.insert("aws:PrincipalAccount".into(), json!(account));
    if user {
        let name = principal.rsplit('/').next().unwrap();
        c.insert("aws:username".into(), json!(name));
    }
    let mut maybe = |rng: &mut Rng, percent, key: &str, values: &[J]| {
        if rng.chance(percent) {
            c.insert(key.into(), rng.pick(values).clone());
        }
    };
    maybe(
        rng,
        70,
        "aws:SourceIp",
        &[
            json!("10.1.2.3"),
            json!("192.168.0.9"),
            json!("2001:db8::5"),
        ],
    );
    maybe(
        rng,
        80,
        "aws:CurrentTime",
        &[json!("2026-11-24T10:00:00Z"), json!("2026-03-01T00:00:00Z")],
    );
    maybe(
        rng,
        50,
        "aws:PrincipalTag/team",
        &[json!("platform"), json!("data"), json!("alice")],
    );
    maybe(
        rng,
        50,
        "aws:RequestTag/env",
        &[json!("prod"), json!("dev")],
    );
    // Never an empty set: AWS leaves the key out of a request without tags, and so does
    // Tessera (known-divergences.jsonl, div-empty-multivalued-key).
    maybe(
        rng,
        50,
        "aws:TagKeys",
        &[json!(["env"]), json!(["env", "owner"]), json!(["cost"])],
    );
    maybe(
        rng,
        50,
        "aws:MultiFactorAuthPresent",
        &[json!("true"), json!("false")],
    );
    maybe(
        rng,
        40,
        "aws:MultiFactorAuthAge",
        &[json!("30"), json!("7200")],
    );
    maybe(
        rng,
        50,
        "aws:SecureTransport",
        &[json!("true"), json!("false")],
    );
    maybe(
        rng,
        60,
        "aws:RequestedRegion",
        &[json!("us-east-1"), json!("eu-west-1")],
    );
    maybe(
        rng,
        20,
        "aws:SourceArn",
        &[json!("arn:aws:sns:us-east-1:111122223333:alerts")],
    );
    J::Object(c)
}

fn generate(rng: &mut Rng, id: usize) -> J {
    let t = rng.pick(TARGETS);
    let &(principal, session_principal) = rng.pick(PRINCIPALS);
    let user = !session_principal;
    let identity: Vec<String> = (0..rng.below(3))
        .map(|_| {
            let n = 1 + rng.below(3);
            document((0..n).map(|_| statement(rng, t, user, None, 25)).collect())
        })
        .collect();
    let boundary = rng.chance(25).then(|| {
        let n = 1 + rng.below(2);
        document((0..n).map(|_| statement(rng, t, user, None, 15)).collect())
    });
    let session = (session_principal && rng.chance(35)).then(|| {
        (0..1 + rng.below(2))
            .map(|_| document(vec![statement(rng, t, user, None, 15)]))
            .collect::<Vec<_>>()
    });
    let resource_policy = (t.resource_policies && rng.chance(50)).then(|| {
        // Grants naming the exact session with session policies, and "*" with a boundary, are
        // cases AWS leaves unclear or iam-simulate models differently (README, section E).
        let mut names = vec![
            json!({"AWS": "arn:aws:iam::111122223333:user/alice"}),
            json!({"AWS": ["arn:aws:iam::111122223333:user/dev/bob", "arn:aws:iam::444455556666:user/carol"]}),
            json!({"AWS": A}),
            json!({"AWS": format!("arn:aws:iam::{B}:root")}),
            json!({"AWS": "arn:aws:iam::111122223333:role/app"}),
        ];
        if session.is_none() {
            names.push(json!({"AWS": "arn:aws:sts::111122223333:assumed-role/app/s1"}));
        }
        if boundary.is_none() {
            names.push(json!("*"));
        }
        let n = 1 + rng.below(2);
        document(
            (0..n)
                .map(|_| {
                    let p = rng.pick(&names).clone();
                    statement(rng, t, user, Some(p), 20)
                })
                .collect(),
        )
    });
    json!({
        "id": format!("gen-{id}"),
        "identity": identity,
        "resource_policy": resource_policy,
        "boundary": boundary,
        "session": session,
        "principal": principal,
        "action": t.action,
        "resource": t.resource,
        "resource_account": A,
        "context": context(rng, principal, user),
    })
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

#[test]
fn generated_cases_agree_with_iam_simulate() {
    let seed = env_number("TESSERA_DIFF_SEED", 0x07E5_5E7A);
    let count = env_number("TESSERA_DIFF_CASES", 4000) as usize;
    let mut rng = Rng(seed);
    let cases: Vec<J> = (0..count).map(|i| generate(&mut rng, i)).collect();
    let theirs = simulate(&cases);
    let mut errors = Vec::new();
    let mut disagreements = Vec::new();
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for (case, result) in cases.iter().zip(&theirs) {
        if let Some(e) = result.get("error") {
            errors.push(format!("{e}: {case}"));
            continue;
        }
        let mine = ours(case);
        *tally.entry(mine.clone()).or_default() += 1;
        if result["decision"] != json!(mine) {
            disagreements.push(format!(
                "tessera {mine}, iam-simulate {}: {case}",
                result["decision"]
            ));
        }
    }
    assert!(
        errors.is_empty(),
        "{} generated cases iam-simulate cannot judge (a generator bug), first: {}",
        errors.len(),
        errors[0]
    );
    assert!(
        disagreements.is_empty(),
        "{} of {count} cases disagree (seed {seed}); add each to known-divergences.jsonl with AWS's answer once it is understood, or fix the engine:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every outcome must be well represented, or the comparison proves little.
    for outcome in ["Allow", "ExplicitDeny", "ImplicitDeny"] {
        let n = tally.get(outcome).copied().unwrap_or(0);
        assert!(
            n * 10 >= count,
            "only {n} {outcome} cases of {count}: {tally:?}"
        );
    }
}

#[test]
fn hand_checked_cases_get_aws_answer_from_both_engines() {
    let cases = fixture("smoke.jsonl");
    assert!(cases.len() >= 20);
    let theirs = simulate(&cases);
    for (case, result) in cases.iter().zip(&theirs) {
        assert_eq!(
            json!(ours(case)),
            case["expect"],
            "tessera on {}",
            case["id"]
        );
        assert_eq!(
            result["decision"], case["expect"],
            "iam-simulate on {}",
            case["id"]
        );
    }
}

#[test]
fn known_divergences_still_diverge_and_we_give_aws_answer() {
    let cases = fixture("known-divergences.jsonl");
    assert!(!cases.is_empty());
    let theirs = simulate(&cases);
    for (case, result) in cases.iter().zip(&theirs) {
        assert_eq!(
            json!(ours(case)),
            case["expect"],
            "tessera on {}",
            case["id"]
        );
        assert_eq!(
            result["decision"], case["iam_simulate"],
            "iam-simulate on {} changed its answer: re-check the divergence",
            case["id"]
        );
    }
}
