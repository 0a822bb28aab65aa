//! Condition operators (spec §5.5) and their evaluation, including `…IfExists`, the set
//! qualifiers `ForAllValues:`/`ForAnyValue:`, missing keys and negation.

use crate::context::Context;
use crate::pattern::{Tok, arn_match, matches_tokens};
use crate::variables::expand;
use base64::Engine;
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The comparison an operator makes, before negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Qualifier {
    AllValues,
    AnyValue,
}

/// An operator as written: a comparison, possibly negated, qualified, or `IfExists`; or `Null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operator {
    Null,
    Compare {
        compare: Compare,
        negated: bool,
        if_exists: bool,
        qualifier: Option<Qualifier>,
    },
}

const NAMES: &[(&str, Compare, bool)] = &[
    ("StringEquals", Compare::StringEquals, false),
    ("StringNotEquals", Compare::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Compare::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Compare::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Compare::StringLike, false),
    ("StringNotLike", Compare::StringLike, true),
    ("NumericEquals", Compare::NumericEquals, false),
    ("NumericNotEquals", Compare::NumericEquals, true),
    ("NumericLessThan", Compare::NumericLessThan, false),
    (
        "NumericLessThanEquals",
        Compare::NumericLessThanEquals,
        false,
    ),
    ("NumericGreaterThan", Compare::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Compare::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Compare::DateEquals, false),
    ("DateNotEquals", Compare::DateEquals, true),
    ("DateLessThan", Compare::DateLessThan, false),
    ("DateLessThanEquals", Compare::DateLessThanEquals, false),
    ("DateGreaterThan", Compare::DateGreaterThan, false),
    (
        "DateGreaterThanEquals",
        Compare::DateGreaterThanEquals,
        false,
    ),
    ("Bool", Compare::Bool, false),
    ("BinaryEquals", Compare::BinaryEquals, false),
    ("IpAddress", Compare::IpAddress, false),
    ("NotIpAddress", Compare::IpAddress, true),
    ("ArnEquals", Compare::ArnLike, false),
    ("ArnLike", Compare::ArnLike, false),
    ("ArnNotEquals", Compare::ArnLike, true),
    ("ArnNotLike", Compare::ArnLike, true),
];

impl Operator {
    /// Parses an operator name; `None` for anything IAM does not define.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(Qualifier::AllValues), r)
        } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(Qualifier::AnyValue), r)
        } else {
            (None, name)
        };
        if rest == "Null" {
            return qualifier.is_none().then_some(Self::Null);
        }
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        NAMES
            .iter()
            .find(|(n, _, _)| *n == base)
            .map(|&(_, compare, negated)| Self::Compare {
                compare,
                negated,
                if_exists,
                qualifier,
            })
    }
}

/// One condition: an operator, a key, and the values it lists (OR-ed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Condition {
    pub(crate) operator: Operator,
    pub(crate) key: String,
    pub(crate) values: Vec<String>,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// ISO 8601 (RFC 3339, or a bare `YYYY-MM-DD`) or epoch seconds, as Unix seconds.
fn date(s: &str) -> Option<i128> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(i128::from(n) * 1_000_000_000);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp_nanos())
}

fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match cidr.trim().split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn base64_bytes(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

/// A pattern read back as plain text: the non-`Like` operators have no wildcards.
fn literal_text(p: &[Tok]) -> String {
    p.iter()
        .map(|t| match t {
            Tok::Char(c) => *c,
            Tok::Star => '*',
            Tok::One => '?',
        })
        .collect()
}

/// Whether one request value satisfies one (already expanded) policy value.
fn compare(c: Compare, policy: &PolicyValue, request: &str) -> bool {
    let text = policy.text.as_str();
    match c {
        Compare::StringEquals => policy
            .pattern
            .as_deref()
            .is_some_and(|p| literal_text(p) == request),
        Compare::StringEqualsIgnoreCase => policy
            .pattern
            .as_deref()
            .is_some_and(|p| literal_text(p).to_lowercase() == request.to_lowercase()),
        Compare::StringLike => policy
            .pattern
            .as_ref()
            .is_some_and(|p| matches_tokens(p, request)),
        Compare::ArnLike => policy
            .pattern
            .as_ref()
            .is_some_and(|p| arn_match(p, request)),
        Compare::NumericEquals
        | Compare::NumericLessThan
        | Compare::NumericLessThanEquals
        | Compare::NumericGreaterThan
        | Compare::NumericGreaterThanEquals => match (number(request), number(text)) {
            (Some(r), Some(p)) => match c {
                Compare::NumericEquals => r == p,
                Compare::NumericLessThan => r < p,
                Compare::NumericLessThanEquals => r <= p,
                Compare::NumericGreaterThan => r > p,
                _ => r >= p,
            },
            _ => false,
        },
        Compare::DateEquals
        | Compare::DateLessThan
        | Compare::DateLessThanEquals
        | Compare::DateGreaterThan
        | Compare::DateGreaterThanEquals => match (date(request), date(text)) {
            (Some(r), Some(p)) => match c {
                Compare::DateEquals => r == p,
                Compare::DateLessThan => r < p,
                Compare::DateLessThanEquals => r <= p,
                Compare::DateGreaterThan => r > p,
                _ => r >= p,
            },
            _ => false,
        },
        Compare::Bool => request.trim().eq_ignore_ascii_case(text.trim()),
        Compare::BinaryEquals => match (base64_bytes(text), base64_bytes(request)) {
            (Some(p), Some(r)) => p == r,
            _ => text == request,
        },
        Compare::IpAddress => request
            .trim()
            .parse::<IpAddr>()
            .is_ok_and(|ip| cidr_contains(text, ip)),
    }
}

/// A policy value with its variables expanded (String* and Arn* operators only).
struct PolicyValue {
    text: String,
    /// `None` when a variable had no value: the value matches nothing.
    pattern: Option<Vec<Tok>>,
}

fn takes_variables(c: Compare) -> bool {
    matches!(
        c,
        Compare::StringEquals
            | Compare::StringEqualsIgnoreCase
            | Compare::StringLike
            | Compare::ArnLike
    )
}

impl Condition {
    /// Evaluates the condition. `substitute` is true for Version 2012-10-17 documents.
    pub(crate) fn holds(&self, ctx: &Context, substitute: bool) -> bool {
        let request = ctx.get(&self.key).map(|v| v.as_slice());
        let Operator::Compare {
            compare: c,
            negated,
            if_exists,
            qualifier,
        } = self.operator
        else {
            // Null: "true" means the key must be absent (an empty string counts as absent).
            let absent = request.is_none_or(|vals| vals.iter().all(String::is_empty));
            return self
                .values
                .iter()
                .any(|v| v.trim().eq_ignore_ascii_case("true") == absent);
        };
        let Some(request) = request else {
            return match qualifier {
                Some(Qualifier::AllValues) => true,
                Some(Qualifier::AnyValue) => false,
                None => if_exists || negated,
            };
        };
        let policy: Vec<PolicyValue> = self
            .values
            .iter()
            .map(|v| PolicyValue {
                text: v.clone(),
                pattern: expand(v, ctx, substitute && takes_variables(c)),
            })
            .collect();
        // A request value "matches" when some policy value compares; negation flips each
        // value's result (the negated operators match none of the listed values).
        let value_ok = |r: &String| policy.iter().any(|p| compare(c, p, r)) != negated;
        match qualifier {
            Some(Qualifier::AllValues) => request.iter().all(value_ok),
            Some(Qualifier::AnyValue) => request.iter().any(value_ok),
            None => {
                let any = request
                    .iter()
                    .any(|r| policy.iter().any(|p| compare(c, p, r)));
                any != negated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: Operator::parse(op).unwrap(),
            key: key.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn ctx() -> Context {
        let mut c = Context::new();
        c.set("aws:SourceIp", "10.1.2.3");
        c.set("aws:CurrentTime", "2025-06-01T12:00:00Z");
        c.set("aws:MultiFactorAuthAge", "300");
        c.set("aws:MultiFactorAuthPresent", "true");
        c.set("aws:username", "alice");
        c.set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Deploy");
        c.set_multi("aws:TagKeys", vec!["Project".into(), "Team".into()]);
        c.set_multi("empty", vec![]);
        c.set("ipv6", "2001:db8::1");
        c
    }

    #[test]
    fn operator_names() {
        assert!(Operator::parse("StringEqualsIfExists").is_some());
        assert!(Operator::parse("ForAllValues:StringLike").is_some());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAnyValue:Null").is_none());
        assert!(Operator::parse("StringEqualsWhatever").is_none());
        assert!(Operator::parse("stringequals").is_none());
    }

    #[test]
    fn each_family() {
        let c = ctx();
        let t = |op: &str, key: &str, vals: &[&str]| cond(op, key, vals).holds(&c, true);
        assert!(t("StringEquals", "aws:username", &["bob", "alice"]));
        assert!(!t("StringEquals", "aws:username", &["Alice"]));
        assert!(
            !t("StringEquals", "aws:username", &["a*"]),
            "no wildcards in StringEquals"
        );
        assert!(t("StringEqualsIgnoreCase", "aws:username", &["ALICE"]));
        assert!(t("StringLike", "aws:username", &["al?c*"]));
        assert!(t("StringNotEquals", "aws:username", &["bob", "carol"]));
        assert!(!t("StringNotEquals", "aws:username", &["bob", "alice"]));
        assert!(t("NumericLessThan", "aws:MultiFactorAuthAge", &["3600"]));
        assert!(!t(
            "NumericGreaterThan",
            "aws:MultiFactorAuthAge",
            &["3600"]
        ));
        assert!(
            !t("NumericEquals", "aws:username", &["1"]),
            "unparsable never matches"
        );
        assert!(t(
            "DateGreaterThan",
            "aws:CurrentTime",
            &["2025-01-01T00:00:00Z"]
        ));
        assert!(
            t("DateLessThan", "aws:CurrentTime", &["1767225600"]),
            "epoch seconds"
        );
        assert!(t("Bool", "aws:MultiFactorAuthPresent", &["TRUE"]));
        assert!(t("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]));
        assert!(t("NotIpAddress", "aws:SourceIp", &["192.168.0.0/16"]));
        assert!(t("IpAddress", "ipv6", &["2001:db8::/32"]));
        assert!(!t("IpAddress", "ipv6", &["10.0.0.0/8"]));
        assert!(t(
            "ArnLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::*:role/Dep*"]
        ));
        assert!(t(
            "ArnNotEquals",
            "aws:PrincipalArn",
            &["arn:aws:iam::*:role/Other"]
        ));
        assert!(t("Null", "aws:TokenIssueTime", &["true"]));
        assert!(t("Null", "aws:username", &["false"]));
        assert!(t("Null", "empty", &["true"]), "an empty set counts as null");
    }

    #[test]
    fn missing_keys() {
        let c = ctx();
        let t = |op: &str| cond(op, "aws:missing", &["x"]).holds(&c, true);
        assert!(!t("StringEquals"));
        assert!(
            t("StringNotEquals"),
            "negated operators are true on a missing key"
        );
        assert!(t("StringEqualsIfExists"));
        assert!(t("ForAllValues:StringEquals"));
        assert!(!t("ForAnyValue:StringEquals"));
        assert!(t("NotIpAddress"));
    }

    #[test]
    fn set_qualifiers() {
        let c = ctx();
        let t = |op: &str, vals: &[&str]| cond(op, "aws:TagKeys", vals).holds(&c, true);
        assert!(t(
            "ForAllValues:StringEquals",
            &["Project", "Team", "Other"]
        ));
        assert!(!t("ForAllValues:StringEquals", &["Project"]));
        assert!(t("ForAnyValue:StringEquals", &["Team"]));
        assert!(!t("ForAnyValue:StringEquals", &["Nope"]));
        assert!(t("ForAllValues:StringNotEquals", &["Other"]));
        assert!(!t("ForAllValues:StringNotEquals", &["Team"]));
        assert!(cond("ForAllValues:StringEquals", "empty", &["x"]).holds(&c, true));
        assert!(!cond("ForAnyValue:StringEquals", "empty", &["x"]).holds(&c, true));
    }

    #[test]
    fn variables_only_in_string_and_arn_values() {
        let c = ctx();
        assert!(cond("StringEquals", "aws:username", &["${aws:username}"]).holds(&c, true));
        assert!(!cond("StringEquals", "aws:username", &["${aws:username}"]).holds(&c, false));
    }
}
