//! IAM wildcard patterns: `*` (any run) and `?` (one character), over tokens so that characters
//! inserted by policy variables (and the `${*}`/`${?}` escapes) stay literal.

/// One element of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Any run of characters, possibly empty.
    Star,
    /// Exactly one character.
    One,
    /// This character.
    Char(char),
}

/// Tokenizes a pattern written directly in a policy (no variables).
pub(crate) fn tokens(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Char(c),
        })
        .collect()
}

/// Matches `text` against a token pattern, case-sensitively (callers fold case first where IAM
/// ignores it, as for actions).
pub(crate) fn matches_tokens(pattern: &[Tok], text: &str) -> bool {
    matches_chars(pattern, text.chars())
}

/// [`matches_tokens`] over any sequence of characters, so that a caller can fold case on the way
/// in instead of allocating a folded copy. Iterative, with backtracking to the last `*`: no
/// recursion, no allocation, linear in practice.
pub(crate) fn matches_chars<I: Iterator<Item = char> + Clone>(pattern: &[Tok], text: I) -> bool {
    let mut pi = 0usize;
    let mut rest = text;
    // The last `*` seen, and where in the text it was tried last.
    let mut star: Option<(usize, I)> = None;
    loop {
        let mut after = rest.clone();
        let Some(c) = after.next() else { break };
        match pattern.get(pi) {
            Some(Tok::Star) => {
                star = Some((pi, rest.clone()));
                pi += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                rest = after;
            }
            Some(Tok::Char(p)) if *p == c => {
                pi += 1;
                rest = after;
            }
            _ => match &mut star {
                // Let the `*` swallow one more character and retry after it.
                Some((sp, tried)) => {
                    tried.next();
                    pi = *sp + 1;
                    rest = tried.clone();
                }
                None => return false,
            },
        }
    }
    pattern
        .get(pi..)
        .is_some_and(|rest| rest.iter().all(|&p| p == Tok::Star))
}

/// Splits an ARN (or ARN pattern) into its six parts, the last keeping any further colons.
pub(crate) fn arn_parts(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    Some([
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ])
}

/// Splits a token pattern at its first five literal colons.
fn token_parts(p: &[Tok]) -> Option<Vec<&[Tok]>> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, t) in p.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *t == Tok::Char(':') {
            parts.push(p.get(start..i)?);
            start = i + 1;
        }
    }
    parts.push(p.get(start..)?);
    (parts.len() == 6).then_some(parts)
}

/// ARN matching (spec §5.4): segment by segment, wildcards within a segment, `*` spanning `/`
/// in the resource segment. A pattern that is not ARN-shaped is matched as a whole string.
pub(crate) fn arn_match(pattern: &[Tok], value: &str) -> bool {
    if pattern == [Tok::Star] {
        return true;
    }
    match (token_parts(pattern), arn_parts(value)) {
        (Some(p), Some(v)) => p
            .iter()
            .zip(v.iter())
            .all(|(ps, vs)| matches_tokens(ps, vs)),
        (None, _) => matches_tokens(pattern, value),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "anything", true),
            ("sts:*", "sts:GetAccessKeyInfo", true),
            ("sts:Get*Info", "sts:GetAccessKeyInfo", true),
            ("sts:Get?ccessKeyInfo", "sts:GetAccessKeyInfo", true),
            ("sts:Get?", "sts:GetAccessKeyInfo", false),
            ("iam:*", "sts:GetAccessKeyInfo", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "", true),
            ("", "a", false),
            ("**", "", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(matches_tokens(&tokens(p), t), want, "{p} vs {t}");
        }
        assert!(!matches_tokens(
            &tokens("arn:aws:iam::1:user/A"),
            "arn:aws:iam::1:user/a"
        ));
    }

    #[test]
    fn arns_match_per_segment() {
        let m = |p: &str, v: &str| arn_match(&tokens(p), v);
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c"));
        assert!(m(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::111122223333:role/x"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::111122223333:user/x"
        ));
        assert!(
            !m("arn:aws:iam::1*", "arn:aws:s3:::x"),
            "a star does not cross segments"
        );
        assert!(m(
            "arn:aws:sts::1:assumed-role/r/*",
            "arn:aws:sts::1:assumed-role/r/s:x"
        ));
        assert!(m("*", "whatever"));
        assert!(!m("arn:aws:s3:::b", "not-an-arn"));
    }

    #[test]
    fn literal_tokens_are_not_wildcards() {
        let p = [Tok::Char('a'), Tok::Char('*')];
        assert!(matches_tokens(&p, "a*"));
        assert!(!matches_tokens(&p, "ab"));
    }
}
