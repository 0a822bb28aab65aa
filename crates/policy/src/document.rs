use serde_json::{Map, Value};

/// Allow or Deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Overrides every grant.
    Deny,
}

/// What a statement's action or resource element matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Matcher {
    /// `Action` / `Resource`: any of the patterns.
    Any(Vec<String>),
    /// `NotAction` / `NotResource`: none of the patterns.
    NoneOf(Vec<String>),
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement id, if any; named in decisions to explain them.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    pub(crate) action: Matcher,
    pub(crate) resource: Matcher,
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// Why a document is not a policy. Rendered as the `MalformedPolicyDocument` message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or not a JSON object.
    #[error("Syntax errors in policy.")]
    Syntax,
    /// `Version` is neither 2012-10-17 nor 2008-10-17.
    #[error("The policy must contain a valid version string")]
    Version,
    /// No `Statement`.
    #[error("Missing required field Statement")]
    MissingStatement,
    /// `Effect` missing or not Allow/Deny.
    #[error("Missing required field Effect")]
    Effect,
    /// Neither or both of `Action`/`NotAction`.
    #[error("Policy statement must contain actions.")]
    Action,
    /// Neither or both of `Resource`/`NotResource`.
    #[error("Policy statement must contain resources.")]
    Resource,
    /// An element with the wrong JSON type.
    #[error("Syntax errors in policy: {0} must be a string or a list of strings.")]
    ElementType(&'static str),
    /// An element this build does not evaluate.
    #[error("Policy element {0} is not supported by this server yet.")]
    Unsupported(String),
    /// An element IAM does not know.
    #[error("Syntax errors in policy: unknown field {0}.")]
    UnknownField(String),
}

fn strings(value: &Value, name: &'static str) -> Result<Vec<String>, ParseError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(ParseError::ElementType(name))
            })
            .collect(),
        _ => Err(ParseError::ElementType(name)),
    }
}

fn matcher(
    obj: &Map<String, Value>,
    positive: &'static str,
    negative: &'static str,
    missing: ParseError,
) -> Result<Matcher, ParseError> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(v), None) => Ok(Matcher::Any(strings(v, positive)?)),
        (None, Some(v)) => Ok(Matcher::NoneOf(strings(v, negative)?)),
        _ => Err(missing),
    }
}

fn statement(value: &Value) -> Result<Statement, ParseError> {
    let obj = value.as_object().ok_or(ParseError::Syntax)?;
    for key in obj.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" => {}
            "Condition" | "Principal" | "NotPrincipal" => {
                return Err(ParseError::Unsupported(key.clone()));
            }
            other => return Err(ParseError::UnknownField(other.to_owned())),
        }
    }
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(ParseError::Effect),
    };
    Ok(Statement {
        sid: obj.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        action: matcher(obj, "Action", "NotAction", ParseError::Action)?,
        resource: matcher(obj, "Resource", "NotResource", ParseError::Resource)?,
    })
}

impl Policy {
    /// Parses a policy document.
    pub fn parse(json: &str) -> Result<Self, ParseError> {
        let value: Value = serde_json::from_str(json).map_err(|_| ParseError::Syntax)?;
        let obj = value.as_object().ok_or(ParseError::Syntax)?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(ParseError::UnknownField(key.clone()));
            }
        }
        match obj.get("Version").and_then(Value::as_str) {
            Some("2012-10-17" | "2008-10-17") | None => {}
            Some(_) => return Err(ParseError::Version),
        }
        let statements = match obj.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(statement).collect::<Result<_, _>>()?,
            Some(single @ Value::Object(_)) => vec![statement(single)?],
            Some(_) => return Err(ParseError::Syntax),
            None => return Err(ParseError::MissingStatement),
        };
        Ok(Self { statements })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_listed_statements() {
        let one = Policy::parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).unwrap();
        assert_eq!(one.statements.len(), 1);
        let two = Policy::parse(r#"{"Statement":[{"Sid":"a","Effect":"Deny","NotAction":["s3:*"],"NotResource":"x"},{"Effect":"Allow","Action":"*","Resource":["*"]}]}"#).unwrap();
        assert_eq!(two.statements.len(), 2);
        assert_eq!(two.statements[0].sid.as_deref(), Some("a"));
    }

    #[test]
    fn refuses_every_grammar_error() {
        let cases = [
            ("not json", ParseError::Syntax),
            ("[]", ParseError::Syntax),
            (
                r#"{"Version":"2020-01-01","Statement":[]}"#,
                ParseError::Version,
            ),
            (r#"{"Version":"2012-10-17"}"#, ParseError::MissingStatement),
            (
                r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
                ParseError::Effect,
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                ParseError::Action,
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}"#,
                ParseError::Action,
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
                ParseError::Resource,
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":1,"Resource":"*"}}"#,
                ParseError::ElementType("Action"),
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}}"#,
                ParseError::Unsupported("Condition".into()),
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}}"#,
                ParseError::UnknownField("Foo".into()),
            ),
            (
                r#"{"Statement":[],"Bar":1}"#,
                ParseError::UnknownField("Bar".into()),
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(Policy::parse(doc), Err(want), "{doc}");
        }
    }
}
