//! Policy documents: the grammar of spec §5.1/§5.9, checked once when a policy is written, into a
//! typed AST that evaluation never has to re-validate.

use crate::condition::{Condition, Operator};
use crate::json::Json;
use crate::pattern::{Tok, tokens};
use crate::principal::PrincipalValue;

/// Where a policy is used; the grammar differs (spec §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity, session and permissions-boundary policies: no `Principal`, `Resource` required.
    Identity,
    /// A role trust policy: `Principal` required, no `NotPrincipal`, no `Resource`.
    Trust,
    /// Other resource-based policies: `Principal`/`NotPrincipal` and `Resource`/`NotResource`.
    Resource,
}

/// Allow or Deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Overrides every grant.
    Deny,
}

/// An element that lists values positively (`Action`) or negatively (`NotAction`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Matcher<T> {
    /// Matches when any listed value matches.
    Any(Vec<T>),
    /// Matches when no listed value matches.
    NoneOf(Vec<T>),
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement id, if any; named in decisions to explain them.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    pub(crate) principal: Option<Matcher<PrincipalValue>>,
    /// Action patterns, lowercased (actions match case-insensitively).
    pub(crate) action: Matcher<Vec<Tok>>,
    /// Resource patterns as written (variables are expanded at evaluation).
    pub(crate) resource: Option<Matcher<String>>,
    pub(crate) conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Whether policy variables are substituted (Version 2012-10-17 only).
    pub(crate) variables: bool,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// Why a document is not a valid policy; the message is the `MalformedPolicyDocument` text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, trailing data, duplicate keys, wrong JSON types, empty statement list.
    #[error("Syntax errors in policy.")]
    Syntax,
    /// Characters outside TAB, LF, CR and U+0020–U+00FF.
    #[error("Policy document contains invalid characters.")]
    InvalidCharacters,
    /// `Version` is neither 2012-10-17 nor 2008-10-17.
    #[error("The policy failed legacy parsing")]
    Version,
    /// An unknown top-level or statement field.
    #[error("Syntax errors in policy. Unknown field {0}")]
    UnknownField(String),
    /// No `Statement`.
    #[error("Missing required field Statement")]
    MissingStatement,
    /// `Effect` missing or not Allow/Deny.
    #[error("Missing required field Effect")]
    Effect,
    /// Neither or both of `Action`/`NotAction`.
    #[error("Policy statement must contain actions.")]
    Action,
    /// An action without a vendor prefix.
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    ActionVendor,
    /// Neither or both of `Resource`/`NotResource` where one is required.
    #[error("Policy statement must contain resources.")]
    Resource,
    /// A resource that is neither an ARN nor `*`.
    #[error("Resource {0} must be in ARN format or \"*\".")]
    ResourceFormat(String),
    /// `Resource` in a trust policy.
    #[error("Has prohibited field Resource")]
    ProhibitedResource,
    /// `Principal` in an identity policy.
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// No `Principal` in a trust or resource policy.
    #[error("Missing required field Principal")]
    MissingPrincipal,
    /// `NotPrincipal` in a trust policy.
    #[error("Syntax errors in policy. NotPrincipal is not allowed in trust policies.")]
    NotPrincipalInTrust,
    /// A principal value IAM refuses (partial wildcard, unknown type, CanonicalUser in trust).
    #[error("Invalid principal in policy: \"{0}\":\"{1}\"")]
    InvalidPrincipal(String, String),
    /// An unknown condition operator.
    #[error("Invalid Condition type : {0}.")]
    ConditionOperator(String),
    /// Sids repeated.
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid,
    /// A Sid with characters other than letters and digits.
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    )]
    SidCharacters,
}

fn string_list(v: &Json) -> Result<Vec<String>, ParseError> {
    match v {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or(ParseError::Syntax))
            .collect(),
        _ => Err(ParseError::Syntax),
    }
}

fn condition_values(v: &Json) -> Result<Vec<String>, ParseError> {
    let scalar = |j: &Json| match j {
        Json::String(s) | Json::Number(s) => Ok(s.clone()),
        Json::Bool(b) => Ok(b.to_string()),
        _ => Err(ParseError::Syntax),
    };
    match v {
        Json::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

fn actions(v: &Json) -> Result<Vec<Vec<Tok>>, ParseError> {
    string_list(v)?
        .into_iter()
        .map(|a| {
            let vendor_ok = a == "*"
                || a.split_once(':')
                    .is_some_and(|(vendor, _)| !vendor.is_empty());
            if vendor_ok {
                Ok(tokens(&a.to_lowercase()))
            } else {
                Err(ParseError::ActionVendor)
            }
        })
        .collect()
}

fn resources(v: &Json) -> Result<Vec<String>, ParseError> {
    let list = string_list(v)?;
    for r in &list {
        // A trailing wildcard may stand for the remaining ARN segments (`arn:aws:ec2:*`).
        let arn_shaped =
            r.starts_with("arn:") && (r.splitn(6, ':').count() == 6 || r.ends_with('*'));
        if r != "*" && !arn_shaped {
            return Err(ParseError::ResourceFormat(r.clone()));
        }
    }
    Ok(list)
}

fn principals(v: &Json, kind: PolicyKind) -> Result<Vec<PrincipalValue>, ParseError> {
    if v.as_str() == Some("*") {
        return Ok(vec![PrincipalValue::Everyone]);
    }
    let members = v.as_object().ok_or(ParseError::Syntax)?;
    if members.is_empty() {
        return Err(ParseError::Syntax);
    }
    let mut out = Vec::new();
    for (typ, values) in members {
        for value in string_list(values)? {
            let invalid = || ParseError::InvalidPrincipal(typ.clone(), value.clone());
            let parsed = match typ.as_str() {
                "AWS" if value == "*" => PrincipalValue::Everyone,
                "AWS" if value.contains('*') || value.contains('?') => return Err(invalid()),
                "AWS" => PrincipalValue::Aws(value.clone()),
                "Federated" if !value.is_empty() => PrincipalValue::Federated(value.clone()),
                "Service" if !value.is_empty() => PrincipalValue::Service(value.clone()),
                "CanonicalUser" if kind == PolicyKind::Resource => {
                    PrincipalValue::CanonicalUser(value.clone())
                }
                _ => return Err(invalid()),
            };
            out.push(parsed);
        }
    }
    Ok(out)
}

fn conditions(v: &Json) -> Result<Vec<Condition>, ParseError> {
    let mut out = Vec::new();
    for (op_name, block) in v.as_object().ok_or(ParseError::Syntax)? {
        let operator = Operator::parse(op_name)
            .ok_or_else(|| ParseError::ConditionOperator(op_name.clone()))?;
        for (key, values) in block.as_object().ok_or(ParseError::Syntax)? {
            if !key.contains(':') {
                return Err(ParseError::ActionVendor);
            }
            out.push(Condition {
                operator,
                key: key.clone(),
                values: condition_values(values)?,
            });
        }
    }
    Ok(out)
}

fn pair<'a>(obj: &'a Json, positive: &str, negative: &str) -> Result<Option<(bool, &'a Json)>, ()> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(v), None) => Ok(Some((true, v))),
        (None, Some(v)) => Ok(Some((false, v))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(()),
    }
}

fn matcher<T>(positive: bool, items: Vec<T>) -> Matcher<T> {
    if positive {
        Matcher::Any(items)
    } else {
        Matcher::NoneOf(items)
    }
}

fn statement(value: &Json, kind: PolicyKind) -> Result<Statement, ParseError> {
    let members = value.as_object().ok_or(ParseError::Syntax)?;
    for (key, _) in members {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(ParseError::UnknownField(key.clone()));
        }
    }
    let sid = match value.get("Sid") {
        None => None,
        Some(Json::String(s)) => {
            if kind != PolicyKind::Resource && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ParseError::SidCharacters);
            }
            Some(s.clone())
        }
        Some(_) => return Err(ParseError::Syntax),
    };
    let effect = match value.get("Effect").and_then(Json::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(ParseError::Effect),
    };
    let principal = match (
        kind,
        pair(value, "Principal", "NotPrincipal").map_err(|()| ParseError::Syntax)?,
    ) {
        (PolicyKind::Identity, Some(_)) => return Err(ParseError::PrincipalNotAllowed),
        (PolicyKind::Identity, None) => None,
        (PolicyKind::Trust, Some((false, _))) => return Err(ParseError::NotPrincipalInTrust),
        (PolicyKind::Trust | PolicyKind::Resource, None) => {
            return Err(ParseError::MissingPrincipal);
        }
        (PolicyKind::Trust | PolicyKind::Resource, Some((positive, v))) => {
            Some(matcher(positive, principals(v, kind)?))
        }
    };
    let action = match pair(value, "Action", "NotAction") {
        Ok(Some((positive, v))) => matcher(positive, actions(v)?),
        Ok(None) | Err(()) => return Err(ParseError::Action),
    };
    let resource = match (kind, pair(value, "Resource", "NotResource")) {
        (PolicyKind::Trust, Ok(Some(_)) | Err(())) => return Err(ParseError::ProhibitedResource),
        (PolicyKind::Trust, Ok(None)) => None,
        (PolicyKind::Identity | PolicyKind::Resource, Ok(Some((positive, v)))) => {
            Some(matcher(positive, resources(v)?))
        }
        (PolicyKind::Identity | PolicyKind::Resource, Ok(None) | Err(())) => {
            return Err(ParseError::Resource);
        }
    };
    let conditions = match value.get("Condition") {
        Some(c) => conditions(c)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// The policy size IAM counts: characters that are not white space.
pub fn non_whitespace_len(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

impl Policy {
    /// Whether evaluating this policy can consult the request context: it has a condition, or
    /// a resource pattern with a policy variable. A caller whose policies all answer `false`
    /// need not build the context at all.
    pub fn reads_context(&self) -> bool {
        self.statements.iter().any(|s| {
            !s.conditions.is_empty()
                || (self.variables
                    && s.resource.as_ref().is_some_and(|m| match m {
                        Matcher::Any(patterns) | Matcher::NoneOf(patterns) => {
                            patterns.iter().any(|p| p.contains("${"))
                        }
                    }))
        })
    }

    /// Every `"AWS"` principal value the statements name, for checks made when a trust policy
    /// is written (named users and roles must exist).
    pub fn aws_principals(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .filter_map(|s| s.principal.as_ref())
            .flat_map(|m| match m {
                Matcher::Any(values) | Matcher::NoneOf(values) => values.iter(),
            })
            .filter_map(|v| match v {
                PrincipalValue::Aws(a) => Some(a.as_str()),
                PrincipalValue::Everyone
                | PrincipalValue::Federated(_)
                | PrincipalValue::Service(_)
                | PrincipalValue::CanonicalUser(_) => None,
            })
    }

    /// Parses and validates a document for its use.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Self, ParseError> {
        if !document
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
        {
            return Err(ParseError::InvalidCharacters);
        }
        let root = Json::parse(document).map_err(|_| ParseError::Syntax)?;
        // JSON escapes (`\u20ac`) must not smuggle in what the raw text may not hold.
        if !root.all_text(&|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')) {
            return Err(ParseError::InvalidCharacters);
        }
        let members = root.as_object().ok_or(ParseError::Syntax)?;
        for (key, _) in members {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(ParseError::UnknownField(key.clone()));
            }
        }
        let variables = match root.get("Version") {
            Some(Json::String(v)) if v == "2012-10-17" => true,
            Some(Json::String(v)) if v == "2008-10-17" => false,
            None => false,
            Some(_) => return Err(ParseError::Version),
        };
        if root.get("Id").is_some_and(|id| id.as_str().is_none()) {
            return Err(ParseError::Syntax);
        }
        let statements: Vec<Statement> = match root.get("Statement") {
            Some(Json::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|s| statement(s, kind))
                .collect::<Result<_, _>>()?,
            Some(single @ Json::Object(_)) => vec![statement(single, kind)?],
            Some(_) => return Err(ParseError::Syntax),
            None => return Err(ParseError::MissingStatement),
        };
        let mut sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).collect();
        sids.sort_unstable();
        if sids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(ParseError::DuplicateSid);
        }
        Ok(Self {
            variables,
            statements,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
    use super::*;

    fn reads(document: &str) -> bool {
        Policy::parse(document, PolicyKind::Identity)
            .unwrap()
            .reads_context()
    }

    #[test]
    fn only_conditions_and_resource_variables_read_the_context() {
        let statement = |extra: &str, resource: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"{resource}"{extra}}}]}}"#
            )
        };
        assert!(!reads(&statement("", "*")));
        assert!(!reads(&statement("", "arn:aws:s3:::bucket/$")));
        assert!(reads(&statement(
            r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
            "*"
        )));
        assert!(reads(&statement("", "arn:aws:s3:::b/${aws:username}/*")));
        let legacy = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}]}"#;
        assert!(!reads(legacy), "2008-10-17 documents substitute nothing");
        let not_resource = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::${aws:username}"}]}"#;
        assert!(reads(not_resource));
    }
}
