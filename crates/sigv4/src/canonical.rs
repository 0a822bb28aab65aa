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

fn push_canonical_uri(out: &mut String, path: &str) {
    if path.is_empty() || path == "/" {
        out.push('/');
    } else {
        out.push_str(&encode_path(&normalize_path(path)));
    }
}

fn push_canonical_query(out: &mut String, query: &str, skip_signature: bool) {
    // Room for a typical SDK request's parameters up front: growing from empty would
    // reallocate three times, and counting the `&`s first costs more than it saves.
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::with_capacity(16);
    pairs.extend(
        query
            .split('&')
            .filter(|item| !item.is_empty())
            .map(|item| item.split_once('=').unwrap_or((item, "")))
            .filter(|(name, _)| !(skip_signature && *name == "X-Amz-Signature"))
            .map(|(n, v)| (canonical_component(n), canonical_component(v))),
    );
    pairs.sort_unstable();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
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

fn push_canonical_headers<S: AsRef<str>>(out: &mut String, req: &HttpRequest<'_>, signed: &[S]) {
    for name in signed {
        let name = name.as_ref();
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
}

/// Builds the canonical request. `signed` holds lowercase, sorted header names. For presigned
/// requests `skip_signature` leaves `X-Amz-Signature` out of the query. Every part is written
/// straight into one buffer: this runs for every request.
pub(crate) fn canonical_request<S: AsRef<str>>(
    req: &HttpRequest<'_>,
    signed: &[S],
    skip_signature: bool,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(320 + req.query.len());
    out.push_str(req.method);
    out.push('\n');
    push_canonical_uri(&mut out, req.path);
    out.push('\n');
    push_canonical_query(&mut out, req.query, skip_signature);
    out.push('\n');
    push_canonical_headers(&mut out, req, signed);
    out.push('\n');
    for (i, name) in signed.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name.as_ref());
    }
    out.push('\n');
    out.push_str(payload_hash);
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

    fn canonical_query(query: &str, skip_signature: bool) -> String {
        let mut out = String::new();
        push_canonical_query(&mut out, query, skip_signature);
        out
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
