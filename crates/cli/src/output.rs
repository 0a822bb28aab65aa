//! The aws CLI's output formats for a response document: `json` (4-space indent, members in
//! the service model's order), `text` (tab-separated scalars sorted by key, nested structures
//! on their own lines prefixed by their upper-cased name) and `table`.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// As `aws --output json`.
    Json,
    /// As `aws --output text`.
    Text,
    /// As `aws --output table`.
    Table,
}

/// Renders `doc` for the operation `title`.
pub fn render(doc: &Value, format: Format, title: &str) -> String {
    match format {
        Format::Json => json(doc),
        Format::Text => {
            let mut out = String::new();
            text(doc, None, None, &mut out);
            out
        }
        Format::Table => table(doc, title),
    }
}

/// Python's `json.dumps(doc, indent=4, ensure_ascii=False)`.
fn json(doc: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    if serde::Serialize::serialize(doc, &mut ser).is_err() {
        return String::new();
    }
    let mut s = String::from_utf8(out).unwrap_or_default();
    s.push('\n');
    s
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn text(item: &Value, identifier: Option<&str>, scalar_keys: Option<&[String]>, out: &mut String) {
    match item {
        Value::Object(map) => text_dict(map, identifier, scalar_keys, out),
        Value::Array(items) => text_list(items, identifier, out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn text_list(items: &[Value], identifier: Option<&str>, out: &mut String) {
    if items.is_empty() {
        return;
    }
    if items.iter().any(Value::is_object) {
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|m| {
                m.iter()
                    .filter(|(_, v)| is_scalar(v))
                    .map(|(k, _)| k.clone())
            })
            .collect();
        keys.sort();
        keys.dedup();
        for el in items {
            text(el, identifier, Some(&keys), out);
        }
    } else {
        let scalars: Vec<String> = items.iter().filter(|v| is_scalar(v)).map(scalar).collect();
        if !scalars.is_empty() {
            match identifier {
                Some(id) => {
                    for s in &scalars {
                        let _ = writeln!(out, "{}\t{s}", id.to_uppercase());
                    }
                }
                None => {
                    out.push_str(&scalars.join("\t"));
                    out.push('\n');
                }
            }
        }
        for nested in items.iter().filter(|v| !is_scalar(v)) {
            text(nested, identifier, None, out);
        }
    }
}

fn text_dict(
    map: &Map<String, Value>,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
    out: &mut String,
) {
    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut scalars: Vec<String> = Vec::new();
    let mut nested: Vec<(&String, &Value)> = Vec::new();
    match scalar_keys {
        None => {
            for (k, v) in sorted {
                if is_scalar(v) {
                    scalars.push(scalar(v));
                } else {
                    nested.push((k, v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(map.get(k).map(scalar).unwrap_or_default());
            }
            nested = sorted
                .into_iter()
                .filter(|(k, _)| !keys.contains(k))
                .collect();
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (k, v) in nested {
        text(v, Some(k), None, out);
    }
}

/// A table in the aws CLI's style: a titled box per structure, key/value rows.
fn table(doc: &Value, title: &str) -> String {
    let mut rows: Vec<(usize, String, String)> = Vec::new();
    fn walk(v: &Value, depth: usize, rows: &mut Vec<(usize, String, String)>) {
        if let Value::Object(map) = v {
            // The aws CLI's tables list members sorted by name.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            for (k, val) in members {
                if is_scalar(val) {
                    rows.push((depth, k.clone(), scalar(val)));
                } else {
                    rows.push((depth, k.clone(), String::new()));
                    walk(val, depth + 1, rows);
                }
            }
        } else if let Value::Array(items) = v {
            for item in items {
                walk(item, depth, rows);
            }
        }
    }
    walk(doc, 0, &mut rows);
    let key_w = rows
        .iter()
        .map(|(d, k, _)| k.chars().count() + 2 * d)
        .max()
        .unwrap_or(0);
    let val_w = rows
        .iter()
        .map(|(_, _, v)| v.chars().count())
        .max()
        .unwrap_or(0);
    let inner = (key_w + val_w + 5).max(title.chars().count() + 2);
    let line = format!("{}\n", "-".repeat(inner + 2));
    let mut out = line.clone();
    let _ = writeln!(out, "|{:^inner$}|", title);
    out.push_str(&line);
    for (depth, k, v) in rows {
        let key = format!("{}{k}", "  ".repeat(depth));
        let _ = writeln!(out, "|  {key:<key_w$} | {v:<w$}|", w = inner - key_w - 4);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_matches_the_aws_cli_rules() {
        let doc = json!({
            "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2026-01-01T00:00:00Z"},
            "AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": "arn"},
            "PackedPolicySize": 6,
        });
        assert_eq!(
            render(&doc, Format::Text, "AssumeRole"),
            "6\nASSUMEDROLEUSER\tarn\tAROA:x\nCREDENTIALS\tASIA\t2026-01-01T00:00:00Z\ts\tt\n"
        );
        let who = json!({"UserId": "AIDA", "Account": "123", "Arn": "arn:x"});
        assert_eq!(render(&who, Format::Text, "x"), "123\tarn:x\tAIDA\n");
    }

    #[test]
    fn json_keeps_member_order_and_four_space_indent() {
        let who = json!({"UserId": "AIDA", "Account": "123", "Arn": "arn:x"});
        assert_eq!(
            render(&who, Format::Json, "x"),
            "{\n    \"UserId\": \"AIDA\",\n    \"Account\": \"123\",\n    \"Arn\": \"arn:x\"\n}\n"
        );
    }

    #[test]
    fn table_shows_every_value() {
        let who = json!({"UserId": "AIDA", "Account": "123", "Arn": "arn:x"});
        let t = render(&who, Format::Table, "GetCallerIdentity");
        assert!(t.contains("GetCallerIdentity") && t.contains("arn:x") && t.contains("AIDA"));
    }
}
