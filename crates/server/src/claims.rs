//! The rules AWS applies to session tags and a source identity that an identity provider
//! supplies (an OIDC token's tags claim, a SAML response's attributes): the same limits as
//! `AssumeRole`'s parameters (spec §3.0.5, §3.0.7), checked once for both kinds of provider.

/// Session tags `(key, value, transitive)`.
pub type SessionTags = Vec<(String, String, bool)>;

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Checks tags given as `(key, value)` pairs and the transitive keys, and marks each tag
/// transitive or not. The error says which rule was broken.
pub fn session_tags(
    pairs: Vec<(String, String)>,
    transitive: Vec<String>,
) -> Result<(SessionTags, Vec<String>), String> {
    if pairs.len() > 50 {
        return Err("more than 50 tags".to_owned());
    }
    if transitive.len() > 50 {
        return Err("more than 50 transitive tag keys".to_owned());
    }
    let mut tags: SessionTags = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let key_len = key.chars().count();
        if !(1..=128).contains(&key_len) || !key.chars().all(is_tag_char) {
            return Err(
                "a tag key must be 1 to 128 characters of [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]"
                    .to_owned(),
            );
        }
        if value.chars().count() > 256 || !value.chars().all(is_tag_char) {
            return Err(
                "a tag value must be at most 256 characters of [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]"
                    .to_owned(),
            );
        }
        if key.to_lowercase().starts_with("aws:") {
            return Err(format!(
                "the tag key '{key}' uses the reserved prefix 'aws:'"
            ));
        }
        if tags.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(&key)) {
            return Err("duplicate tag keys (tag keys are case insensitive)".to_owned());
        }
        let is_transitive = transitive.iter().any(|t| t.eq_ignore_ascii_case(&key));
        tags.push((key, value, is_transitive));
    }
    if let Some(t) = transitive
        .iter()
        .find(|t| !tags.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(t)))
    {
        return Err(format!(
            "the transitive tag key '{t}' is not among the session tags"
        ));
    }
    Ok((tags, transitive))
}

/// Checks a source identity: 2–64 characters of `[\w+=,.@-]`, not starting with `aws:`.
pub fn source_identity(s: &str) -> Result<(), String> {
    let len = s.chars().count();
    if !(2..=64).contains(&len)
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c))
    {
        return Err("it must be 2 to 64 characters of [\\w+=,.@-]".to_owned());
    }
    if s.to_lowercase().starts_with("aws:") {
        return Err("it must not begin with 'aws:'".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn tag_rules() {
        let (tags, transitive) = session_tags(
            vec![pair("team", "blue"), pair("env", "dev")],
            vec!["TEAM".into()],
        )
        .expect("valid");
        assert_eq!(tags[0], ("team".into(), "blue".into(), true));
        assert_eq!(tags[1], ("env".into(), "dev".into(), false));
        assert_eq!(transitive, vec!["TEAM".to_owned()]);
        let many: Vec<_> = (0..51).map(|i| pair(&format!("k{i}"), "v")).collect();
        for (pairs, transitive) in [
            (many, vec![]),
            (vec![pair(&"a".repeat(129), "v")], vec![]),
            (vec![pair("", "v")], vec![]),
            (vec![pair("k", &"v".repeat(257))], vec![]),
            (vec![pair("aws:k", "v")], vec![]),
            (vec![pair("K", "v"), pair("k", "w")], vec![]),
            (vec![pair("k!", "v")], vec![]),
            (vec![pair("k", "v")], vec!["x".to_owned()]),
            (vec![], (0..51).map(|i| format!("k{i}")).collect()),
        ] {
            assert!(
                session_tags(pairs.clone(), transitive).is_err(),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn source_identity_rules() {
        assert!(source_identity("alice@example.com").is_ok());
        for bad in ["a", &"a".repeat(65), "aws:me", "a b", "a/b"] {
            assert!(source_identity(bad).is_err(), "{bad}");
        }
    }
}
