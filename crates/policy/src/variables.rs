//! Policy variables (spec §5.6): `${key}`, `${key, 'default'}`, and the escapes `${*}`, `${?}`,
//! `${$}`, substituted only in Version 2012-10-17 documents. Substituted text is literal: a `*`
//! in a user name never becomes a wildcard.

use crate::context::{Context, Value};
use crate::pattern::{Tok, tokens};

fn literal(out: &mut Vec<Tok>, s: &str) {
    out.extend(s.chars().map(Tok::Char));
}

/// Expands `text` into a pattern. `None` when a variable has no value and no default: the value
/// then matches nothing.
pub(crate) fn expand(text: &str, ctx: &Context, substitute: bool) -> Option<Vec<Tok>> {
    if !substitute || !text.contains("${") {
        return Some(tokens(text));
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend(tokens(rest.get(..start)?));
        let after = rest.get(start + 2..)?;
        let Some(end) = after.find('}') else {
            // An unclosed `${` is plain text.
            out.extend(tokens(rest.get(start..)?));
            return Some(out);
        };
        let inner = after.get(..end)?;
        match inner {
            "*" | "?" | "$" => literal(&mut out, inner),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let quoted = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\''));
                        (k.trim(), quoted)
                    }
                    None => (inner.trim(), None),
                };
                match (ctx.get(key), default) {
                    (Some(Value::Single(v)), _) => literal(&mut out, v),
                    (_, Some(d)) => literal(&mut out, d),
                    _ => return None,
                }
            }
        }
        rest = after.get(end + 1..)?;
    }
    out.extend(tokens(rest));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::matches_tokens;

    fn ctx() -> Context {
        let mut c = Context::new();
        c.set("aws:username", "al*ce");
        c.set("aws:PrincipalTag/team", "blue");
        c.set_multi("aws:TagKeys", vec!["a".into()]);
        c
    }

    #[test]
    fn substitutes_literally() {
        let p = expand("arn:aws:iam::1:user/${aws:username}", &ctx(), true).unwrap();
        assert!(matches_tokens(&p, "arn:aws:iam::1:user/al*ce"));
        assert!(
            !matches_tokens(&p, "arn:aws:iam::1:user/alice"),
            "the * is literal"
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_defaults_apply() {
        let c = ctx();
        let p = expand("${AWS:PrincipalTag/TEAM}", &c, true).unwrap();
        assert!(matches_tokens(&p, "blue"));
        let d = expand("${aws:PrincipalTag/dept, 'none'}", &c, true).unwrap();
        assert!(matches_tokens(&d, "none"));
        assert!(expand("${aws:PrincipalTag/dept}", &c, true).is_none());
        assert!(
            expand("${aws:TagKeys}", &c, true).is_none(),
            "multi-valued keys are not variables"
        );
    }

    #[test]
    fn escapes_and_versions() {
        let c = ctx();
        let p = expand("a${*}b${?}c${$}", &c, true).unwrap();
        assert!(matches_tokens(&p, "a*b?c$"));
        assert!(!matches_tokens(&p, "axbycz"));
        let legacy = expand("${aws:username}", &c, false).unwrap();
        assert!(matches_tokens(&legacy, "${aws:username}"));
        let unclosed = expand("a${b", &c, true).unwrap();
        assert!(matches_tokens(&unclosed, "a${b"));
    }
}
