//! RFC 3986 encoding as SigV4 wants it, and the decoding of form/query values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use std::borrow::Cow;

/// Everything but the unreserved characters `A-Z a-z 0-9 - _ . ~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Same as [`UNRESERVED`] but keeps `/`, for path segments.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Which bytes are unreserved, as a table: the canonical-form check runs over every byte of
/// every query string, and one load per byte beats four comparisons.
#[expect(
    clippy::indexing_slicing,
    reason = "a constant block: the index runs over 0..256 of a 256-entry table"
)]
static UNRESERVED_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

fn is_unreserved(b: u8) -> bool {
    UNRESERVED_BYTES
        .get(usize::from(b))
        .copied()
        .unwrap_or(false)
}

/// Encodes a query-string name or value, or any text AWS wants RFC 3986-encoded: every byte but
/// `A–Z a–z 0–9 - _ . ~` as `%XX` (uppercase hex, space as `%20`).
pub fn encode_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0F] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
    out
}

fn upper_hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `raw` is already in canonical form: unreserved characters, and `%XX` escapes in
/// uppercase hex of bytes that must be escaped.
fn is_canonical(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if is_unreserved(b) {
            i += 1;
        } else if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(upper_hex_value),
                bytes.get(i + 2).copied().and_then(upper_hex_value),
            ) else {
                return false;
            };
            if is_unreserved((hi << 4) | lo) {
                return false;
            }
            i += 3;
        } else {
            return false;
        }
    }
    true
}

/// The canonical form of a raw (still encoded) query component: decoded, then encoded again.
/// Most components are already canonical (what every SDK sends) and are borrowed as is.
pub(crate) fn canonical_component(raw: &str) -> Cow<'_, str> {
    if is_canonical(raw) {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(encode_component(&decode_component(raw)))
    }
}

/// Encodes a path, keeping its slashes. The input is the path *as received*, so an
/// already-encoded `%3D` becomes `%253D`: the double encoding AWS uses for every service but S3.
pub(crate) fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte.
/// Invalid UTF-8 is replaced rather than refused; such a value can never match a signature
/// made over valid text, so the request fails where it should.
/// A component with nothing to decode is borrowed.
pub fn decode_component(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(s);
    }
    let plus_as_space = s.replace('+', " ");
    Cow::Owned(
        percent_decode(plus_as_space.as_bytes())
            .decode_utf8_lossy()
            .into_owned(),
    )
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
    fn canonical_components_are_borrowed_when_already_canonical() {
        assert!(matches!(canonical_component("AKID-_.~9"), Cow::Borrowed(_)));
        assert_eq!(canonical_component("a%2fb+c%7E"), "a%2Fb%20c~");
        assert_eq!(canonical_component("%E1%88%B4"), "%E1%88%B4");
        assert!(matches!(canonical_component("A%2FB%3D"), Cow::Borrowed(_)));
        assert_eq!(
            canonical_component("%41%2f"),
            "A%2F",
            "escaped unreserved and lowercase hex are redone"
        );
        assert_eq!(
            canonical_component("%4"),
            "%254",
            "a broken escape is literal"
        );
    }

    #[test]
    fn decoding_treats_plus_as_space() {
        assert_eq!(decode_component("b+c%2B"), "b c+");
        assert_eq!(decode_component("plain"), "plain");
    }
}
