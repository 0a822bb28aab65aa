//! The combining rule, as a decision table:
//!
//! | any matching Deny | any matching Allow | decision       |
//! |-------------------|--------------------|----------------|
//! | yes               | —                  | explicit deny  |
//! | no                | yes                | allow          |
//! | no                | no                 | implicit deny  |

use crate::document::{Effect, Matcher, Policy, Statement};
use crate::pattern::wildcard_match;

/// What is being asked: an action (`service:Name`) on a resource ARN.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `sts:GetAccessKeyInfo`, …; matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN or `*`; matched case-sensitively.
    pub resource: &'a str,
}

/// The outcome, naming the statements that decided it so denials can be explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Some statement allowed and none denied.
    Allow {
        /// Sids (or positions) of the allowing statements.
        by: Vec<String>,
    },
    /// A statement denied explicitly.
    ExplicitDeny {
        /// Sids (or positions) of the denying statements.
        by: Vec<String>,
    },
    /// Nothing allowed.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }
}

fn matches(m: &Matcher, value: &str, case_insensitive: bool) -> bool {
    match m {
        Matcher::Any(patterns) => patterns
            .iter()
            .any(|p| wildcard_match(p, value, case_insensitive)),
        Matcher::NoneOf(patterns) => !patterns
            .iter()
            .any(|p| wildcard_match(p, value, case_insensitive)),
    }
}

fn applies(s: &Statement, req: &Request<'_>) -> bool {
    matches(&s.action, req.action, true) && matches(&s.resource, req.resource, false)
}

/// Evaluates identity policies for a request.
pub fn evaluate<'p>(policies: impl IntoIterator<Item = &'p Policy>, req: &Request<'_>) -> Decision {
    let (mut allow, mut deny) = (Vec::new(), Vec::new());
    for (pi, policy) in policies.into_iter().enumerate() {
        for (si, s) in policy.statements.iter().enumerate() {
            if applies(s, req) {
                let name = s
                    .sid
                    .clone()
                    .unwrap_or_else(|| format!("policy {pi} statement {si}"));
                match s.effect {
                    Effect::Allow => allow.push(name),
                    Effect::Deny => deny.push(name),
                }
            }
        }
    }
    if !deny.is_empty() {
        Decision::ExplicitDeny { by: deny }
    } else if !allow.is_empty() {
        Decision::Allow { by: allow }
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    const REQ: Request<'static> = Request {
        action: "sts:GetAccessKeyInfo",
        resource: "*",
    };

    #[test]
    fn decision_table() {
        let allow =
            p(r#"{"Statement":{"Sid":"A","Effect":"Allow","Action":"sts:*","Resource":"*"}}"#);
        let deny = p(
            r#"{"Statement":{"Sid":"D","Effect":"Deny","Action":"sts:GetAccessKeyInfo","Resource":"*"}}"#,
        );
        let other = p(r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#);
        assert_eq!(
            evaluate([&allow], &REQ),
            Decision::Allow {
                by: vec!["A".into()]
            }
        );
        assert_eq!(
            evaluate([&allow, &deny], &REQ),
            Decision::ExplicitDeny {
                by: vec!["D".into()]
            }
        );
        assert_eq!(
            evaluate([&deny], &REQ),
            Decision::ExplicitDeny {
                by: vec!["D".into()]
            }
        );
        assert_eq!(evaluate([&other], &REQ), Decision::ImplicitDeny);
        assert_eq!(evaluate([], &REQ), Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_and_not_resource() {
        let all_but_iam =
            p(r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#);
        assert!(evaluate([&all_but_iam], &REQ).is_allowed());
        let not_star = p(r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":"*"}}"#);
        assert!(!evaluate([&not_star], &REQ).is_allowed());
        let deny_not_sts = p(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":"sts:*","Resource":"*"}]}"#,
        );
        assert!(evaluate([&deny_not_sts], &REQ).is_allowed());
        assert!(
            !evaluate(
                [&deny_not_sts],
                &Request {
                    action: "iam:ListUsers",
                    resource: "*"
                }
            )
            .is_allowed()
        );
    }

    #[test]
    fn actions_ignore_case_resources_do_not() {
        let upper = p(
            r#"{"Statement":{"Effect":"Allow","Action":"STS:GETACCESSKEYINFO","Resource":"arn:aws:iam::1:user/Alice"}}"#,
        );
        assert!(
            evaluate(
                [&upper],
                &Request {
                    action: "sts:GetAccessKeyInfo",
                    resource: "arn:aws:iam::1:user/Alice"
                }
            )
            .is_allowed()
        );
        assert!(
            !evaluate(
                [&upper],
                &Request {
                    action: "sts:GetAccessKeyInfo",
                    resource: "arn:aws:iam::1:user/alice"
                }
            )
            .is_allowed()
        );
    }
}
