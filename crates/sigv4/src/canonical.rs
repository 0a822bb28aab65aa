//! The canonical request (spec §2.3): the one place where signer and verifier agree on bytes.

use crate::encode::{canonical_component, encode_path};
use crate::key::sha256_hex;
use std::borrow::Cow;

/// The parts of an HTTP request that SigV4 covers, borrowed from whatever HTTP library holds it.
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path exactly as on the wire (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`; empty when there is none.
    pub query: &'a str,
    /// Every header, names in any case, values as received. Repeated names are allowed.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes as received.
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// Every value of a header, compared case-insensitively, in wire order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// Lowercase hex SHA-256 of the body.
pub fn payload_hash(body: &[u8]) -> String {
    if body.is_empty() {
        return crate::EMPTY_PAYLOAD_SHA256.to_owned();
    }
    sha256_hex(body)
}

/// Removes `.` and `..` segments and collapses repeated slashes, as AWS normalises paths for
/// every service but S3.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut joined = String::from("/");
    joined.push_str(&out.join("/"));
    if path.ends_with('/') && !out.is_empty() {
        joined.push('/');
    }
    joined
}

fn canonical_uri(path: &str) -> String {
    if path.is_empty() || path == "/" {
        return "/".to_owned();
    }
    encode_path(&normalize_path(path))
}

fn canonical_query(query: &str, skip_signature: bool) -> String {
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = query
        .split('&')
        .filter(|item| !item.is_empty())
        .map(|item| item.split_once('=').unwrap_or((item, "")))
        .filter(|(name, _)| !(skip_signature && *name == "X-Amz-Signature"))
        .map(|(n, v)| (canonical_component(n), canonical_component(v)))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Trims a header value and collapses internal runs of whitespace to one space.
fn canonical_header_value(value: &str) -> Cow<'_, str> {
    let tidy =
        value.trim() == value && !value.contains(['\t', '\n', '\r']) && !value.contains("  ");
    if tidy {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

fn canonical_headers(req: &HttpRequest<'_>, signed: &[String]) -> String {
    let mut out = String::new();
    for name in signed {
        out.push_str(name);
        out.push(':');
        for (i, value) in req.header_values(name).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&canonical_header_value(value));
        }
        out.push('\n');
    }
    out
}

/// Builds the canonical request. `signed` holds lowercase, sorted header names. For presigned
/// requests `skip_signature` leaves `X-Amz-Signature` out of the query.
pub(crate) fn canonical_request(
    req: &HttpRequest<'_>,
    signed: &[String],
    skip_signature: bool,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256 + req.query.len());
    for part in [
        req.method,
        "\n",
        &canonical_uri(req.path),
        "\n",
        &canonical_query(req.query, skip_signature),
        "\n",
        &canonical_headers(req, signed),
        "\n",
        &signed.join(";"),
        "\n",
        payload_hash,
    ] {
        out.push_str(part);
    }
    out
}

/// The canonical request of a header-signed request, exposed for known-answer tests.
pub fn canonical_request_for_tests(req: &HttpRequest<'_>, signed: &[String]) -> String {
    canonical_request(req, signed, false, &payload_hash(req.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dot_segments_and_slashes() {
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/example/.."), "/");
        assert_eq!(normalize_path("/example1/example2/../.."), "/");
        assert_eq!(normalize_path("/./"), "/");
        assert_eq!(normalize_path("/a/./b"), "/a/b");
    }

    #[test]
    fn query_is_sorted_by_encoded_name_then_value() {
        assert_eq!(canonical_query("b=2&a=2&a=1", false), "a=1&a=2&b=2");
        assert_eq!(
            canonical_query("X-Amz-Signature=ab&A=1", true),
            "A=1",
            "presigned requests leave the signature out"
        );
    }
}
