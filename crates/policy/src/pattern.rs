/// Matches `text` against an IAM wildcard pattern (`*` any run, `?` one character).
pub(crate) fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (norm(pattern), norm(text));
    // Iterative matcher with backtracking to the last `*`: linear in practice, no recursion.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

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
        ];
        for (p, t, want) in cases {
            assert_eq!(wildcard_match(p, t, false), want, "{p} vs {t}");
        }
        assert!(wildcard_match(
            "STS:getaccesskeyinfo",
            "sts:GetAccessKeyInfo",
            true
        ));
        assert!(!wildcard_match(
            "arn:aws:iam::1:user/A",
            "arn:aws:iam::1:user/a",
            false
        ));
    }
}
