//! Query-protocol parameters: the form body and the query string, decoded strictly.

use crate::{ApiError, ErrorCode};
use std::borrow::Cow;

/// One decoded `name=value` pair, borrowed from the request where no decoding was needed.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The decoded parameters of one request, in wire order, each name at most once. Values that
/// needed no decoding borrow the request's bytes.
#[derive(Clone, Debug, Default)]
pub struct Params<'a> {
    pairs: Vec<Pair<'a>>,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `x-www-form-urlencoded` component; `None` on a bad `%` escape or invalid UTF-8.
fn decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Decodes one source (query string or body); a name twice in one source is refused.
fn decode_source(raw: &str) -> Result<Vec<Pair<'_>>, ApiError> {
    let malformed = || {
        ApiError::new(
            ErrorCode::MalformedQueryString,
            "The request could not be decoded: invalid percent-encoding or UTF-8.",
        )
    };
    // Most requests have parameters in only one of the two sources: the other costs nothing.
    let mut out: Vec<Pair<'_>> = if raw.is_empty() {
        Vec::new()
    } else {
        Vec::with_capacity(16)
    };
    // `X-Amz-*` parameters carry a presigned request's signature; they belong to
    // authentication, which reads them itself, and are no operation's input.
    for item in raw
        .split('&')
        .filter(|i| !i.is_empty() && !i.starts_with("X-Amz-"))
    {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        let name = decode(name).ok_or_else(malformed)?;
        let value = decode(value).ok_or_else(malformed)?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("Duplicate parameter: {name}"),
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// What follows `<name>.member.` in a parameter name. Most requests carry none of the lists an
/// action accepts, so this allocates nothing.
fn member_rest<'n>(parameter: &'n str, name: &str) -> Option<&'n str> {
    parameter.strip_prefix(name)?.strip_prefix(".member.")
}

impl<'a> Params<'a> {
    /// Merges the query string and (for form POSTs) the body.
    pub fn decode(query: &'a str, body: &'a str) -> Result<Self, ApiError> {
        let mut pairs = decode_source(query)?;
        for (name, value) in decode_source(body)? {
            match pairs.iter_mut().find(|(n, _)| *n == name) {
                // The body wins over the query string (spec §1.1).
                Some(existing) => existing.1 = value,
                None => pairs.push((name, value)),
            }
        }
        Ok(Self { pairs })
    }

    /// The elements of a list of scalars, `<name>.member.N`, in index order. `Err` names the
    /// first malformed member (index 0, non-numeric index).
    pub fn list(&self, name: &str) -> Result<Vec<&str>, String> {
        let mut items: Vec<(u32, &str)> = Vec::new();
        for (n, v) in &self.pairs {
            if let Some(index) = member_rest(n, name) {
                match index.parse::<u32>() {
                    Ok(i) if i > 0 => items.push((i, v.as_ref())),
                    _ => return Err(n.to_string()),
                }
            }
        }
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, v)| v).collect())
    }

    /// The elements of a list of structures, `<name>.member.N.<Member>`, as one map of member
    /// name to value per element, in index order.
    pub fn struct_list(&self, name: &str) -> Result<Vec<Vec<(&str, &str)>>, String> {
        let mut items: Vec<(u32, Vec<(&str, &str)>)> = Vec::new();
        for (n, v) in &self.pairs {
            let Some(rest) = member_rest(n, name) else {
                continue;
            };
            let Some((index, member)) = rest.split_once('.') else {
                return Err(n.to_string());
            };
            let index = match index.parse::<u32>() {
                Ok(i) if i > 0 => i,
                _ => return Err(n.to_string()),
            };
            match items.iter_mut().find(|(i, _)| *i == index) {
                Some((_, members)) => members.push((member, v.as_ref())),
                None => items.push((index, vec![(member, v.as_ref())])),
            }
        }
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, m)| m).collect())
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_and_body_with_body_winning() {
        let p = Params::decode("Action=A&X=q", "X=b&Y=%2B+1").unwrap();
        assert_eq!(p.get("Action"), Some("A"));
        assert_eq!(p.get("X"), Some("b"));
        assert_eq!(p.get("Y"), Some("+ 1"));
        assert_eq!(p.get("Z"), None);
    }

    #[test]
    fn lists_and_structures() {
        let p = Params::decode("", "K.member.2=b&K.member.1=a&Tags.member.2.Key=k2&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Value=v2").unwrap();
        assert_eq!(p.list("K").unwrap(), vec!["a", "b"]);
        let tags = p.struct_list("Tags").unwrap();
        assert_eq!(
            tags,
            vec![
                vec![("Key", "k1"), ("Value", "v1")],
                vec![("Key", "k2"), ("Value", "v2")]
            ]
        );
        assert!(
            Params::decode("", "K.member.0=a")
                .unwrap()
                .list("K")
                .is_err()
        );
        assert!(
            Params::decode("", "K.member.x=a")
                .unwrap()
                .list("K")
                .is_err()
        );
        assert!(
            Params::decode("", "Tags.member.1=a")
                .unwrap()
                .struct_list("Tags")
                .is_err()
        );
    }

    #[test]
    fn signature_parameters_are_left_to_authentication() {
        let p = Params::decode("Action=A&X-Amz-Signature=00&X-Amz-Credential=a%2Fb", "").unwrap();
        assert_eq!(p.get("Action"), Some("A"));
        assert_eq!(p.get("X-Amz-Signature"), None);
    }

    #[test]
    fn duplicate_names_in_one_source_are_refused() {
        let e = Params::decode("", "Version=1&Version=1").unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert_eq!(e.message, "Duplicate parameter: Version");
    }

    #[test]
    fn bad_escapes_and_utf8_are_malformed() {
        for bad in ["A=%zz", "A=%4", "A=%ff"] {
            assert_eq!(
                Params::decode("", bad).unwrap_err().code,
                ErrorCode::MalformedQueryString,
                "{bad}"
            );
        }
    }
}
