//! RFC 3986 encoding as SigV4 wants it, and the decoding of form/query values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Everything but the unreserved characters `A-Z a-z 0-9 - _ . ~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Same as [`UNRESERVED`] but keeps `/`, for path segments.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Encodes a query-string name or value (uppercase hex, space as `%20`).
pub(crate) fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Encodes a path, keeping its slashes. The input is the path *as received*, so an
/// already-encoded `%3D` becomes `%253D`: the double encoding AWS uses for every service but S3.
pub(crate) fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte.
/// Invalid UTF-8 is replaced rather than refused; such a value can never match a signature
/// made over valid text, so the request fails where it should.
pub fn decode_component(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits a raw query string or form body into decoded `(name, value)` pairs, in wire order.
pub fn decode_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('=') {
            Some((name, value)) => (decode_component(name), decode_component(value)),
            None => (decode_component(item), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_encoding_uses_uppercase_hex_and_percent_20() {
        assert_eq!(encode_component("a b/c~d*"), "a%20b%2Fc~d%2A");
    }

    #[test]
    fn path_encoding_double_encodes_percent() {
        assert_eq!(encode_path("/a%3D/b c"), "/a%253D/b%20c");
    }

    #[test]
    fn decoding_treats_plus_as_space() {
        assert_eq!(
            decode_pairs("A=b+c&D=%2B&E"),
            vec![
                ("A".into(), "b c".into()),
                ("D".into(), "+".into()),
                ("E".into(), String::new())
            ]
        );
    }
}
