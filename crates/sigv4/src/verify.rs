//! The verifying side, split into the steps the server runs in AWS's order (spec §2.8):
//! [`parse`] (syntax, algorithm) → [`Claim::check_scope`] → [`Claim::check_time`] → (the caller
//! looks up the key and the session token) → [`Claim::verify`] (the HMAC, in constant time).

use crate::canonical::{HttpRequest, canonical_request, payload_hash};
use crate::encode::decode_component;
use crate::key::{Scope, SigningKey, signature_bytes, string_to_sign};
use crate::{ALGORITHM, AmzDate, Error, SecretKey};
use std::borrow::Cow;
use subtle::ConstantTimeEq;
use time::Duration;

/// Where the signature was carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The `Authorization` header.
    Header,
    /// The query string (a presigned URL).
    Query,
}

/// What a request claims about its signature, before anything has been checked beyond syntax.
/// Its parts borrow from the request wherever they needed no decoding, which is nearly always:
/// this is parsed for every request.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    /// Where the signature was found.
    pub location: Location,
    /// The access key id the request claims to be signed with.
    pub access_key_id: Cow<'a, str>,
    /// The credential scope.
    pub scope: Scope<'a>,
    terminator: Cow<'a, str>,
    /// The request time.
    pub time: AmzDate,
    /// The signed header names, lowercase, as the client listed them.
    pub signed_headers: Vec<Cow<'a, str>>,
    signature: Cow<'a, str>,
    /// The session token sent with the request (signed or not).
    pub session_token: Option<Cow<'a, str>>,
}

/// The five parts of a credential: key id, scope, terminator.
type CredentialParts<'a> = (Cow<'a, str>, Scope<'a>, Cow<'a, str>);

/// Where the next `/` of a credential starts and how long it is written. In a still-encoded
/// query value it may be written `%2F` (either case): no other escape decodes to `/`, and an
/// escape's digits are never `%`, so splitting here and decoding each part gives exactly the
/// parts of decoding first and splitting after (and `/` never occurs inside a multi-byte
/// UTF-8 sequence, so lossy decoding agrees as well).
fn next_slash(raw: &str, encoded: bool) -> Option<(usize, usize)> {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().find_map(|(i, &b)| match b {
        b'/' => Some((i, 1)),
        b'%' if encoded
            && bytes.get(i + 1) == Some(&b'2')
            && matches!(bytes.get(i + 2), Some(b'F' | b'f')) =>
        {
            Some((i, 3))
        }
        _ => None,
    })
}

/// Splits a credential (`encoded`: as it stands in a query string) into its five parts.
fn split_credential(raw: &str, encoded: bool) -> Result<CredentialParts<'_>, Error> {
    fn decode(part: &str, encoded: bool) -> Cow<'_, str> {
        if encoded {
            decode_component(part)
        } else {
            Cow::Borrowed(part)
        }
    }
    let mut parts: [&str; 5] = [""; 5];
    let mut rest = raw;
    let mut count = 0;
    loop {
        let (part, next) = match next_slash(rest, encoded) {
            Some((at, len)) => (rest.get(..at), rest.get(at + len..)),
            None => (Some(rest), None),
        };
        match (parts.get_mut(count), part) {
            (Some(slot), Some(part)) => *slot = part,
            _ => {
                count = usize::MAX;
                break;
            }
        }
        count += 1;
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    let [key, date, region, service, term] = parts;
    if count != parts.len() {
        return Err(Error::CredentialParts(decode(raw, encoded).into_owned()));
    }
    Ok((
        decode(key, encoded),
        Scope {
            date: decode(date, encoded),
            region: decode(region, encoded),
            service: decode(service, encoded),
        },
        decode(term, encoded),
    ))
}

/// One signed header name, trimmed and lowercase.
fn header_name(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn split_signed_headers(list: Cow<'_, str>) -> Result<Vec<Cow<'_, str>>, Error> {
    let names: Vec<Cow<'_, str>> = match list {
        Cow::Borrowed(list) => list.split(';').map(header_name).collect(),
        Cow::Owned(list) => list
            .split(';')
            .map(|n| Cow::Owned(header_name(n).into_owned()))
            .collect(),
    };
    if !names.iter().any(|n| n == "host") {
        return Err(Error::HostNotSigned);
    }
    Ok(names)
}

/// The signature parameters of a presigned URL, still encoded, first occurrence of each.
#[derive(Default)]
struct QueryParts<'a> {
    algorithm: Option<&'a str>,
    credential: Option<&'a str>,
    signature: Option<&'a str>,
    date: Option<&'a str>,
    signed_headers: Option<&'a str>,
    expires: Option<&'a str>,
    security_token: Option<&'a str>,
}

impl<'a> QueryParts<'a> {
    /// Reads the `X-Amz-*` parameters; the rest are neither decoded nor copied.
    fn read(query: &'a str) -> Self {
        let mut parts = Self::default();
        for item in query.split('&') {
            let Some(suffix) = item.strip_prefix("X-Amz-") else {
                continue;
            };
            let (name, value) = suffix.split_once('=').unwrap_or((suffix, ""));
            let slot = match name {
                "Algorithm" => &mut parts.algorithm,
                "Credential" => &mut parts.credential,
                "Signature" => &mut parts.signature,
                "Date" => &mut parts.date,
                "SignedHeaders" => &mut parts.signed_headers,
                "Expires" => &mut parts.expires,
                "Security-Token" => &mut parts.security_token,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        parts
    }

    /// Whether the request is presigned at all.
    fn any(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }
}

/// Reads the signature parameters of a request. `Ok(None)` means the request carries no
/// signature at all (the caller decides whether that is allowed).
pub fn parse<'a>(req: &HttpRequest<'a>) -> Result<Option<Claim<'a>>, Error> {
    if let Some(header) = req.header("authorization") {
        return parse_header(req, header).map(Some);
    }
    let query = QueryParts::read(req.query);
    if query.any() {
        return parse_query(req, &query).map(Some);
    }
    Ok(None)
}

fn parse_header<'a>(req: &HttpRequest<'a>, header: &'a str) -> Result<Claim<'a>, Error> {
    let header = header.trim();
    let (algorithm, rest) = header.split_once(' ').unwrap_or((header, ""));
    if algorithm != ALGORITHM {
        return Err(Error::UnsupportedAlgorithm(algorithm.to_owned()));
    }
    let (mut credential, mut signed, mut sig) = (None, None, None);
    for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, value)) = item.split_once('=') else {
            return Err(Error::MalformedPair {
                item: item.to_owned(),
                header: header.to_owned(),
            });
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed = Some(value.trim()),
            "Signature" => sig = Some(value.trim()),
            _ => {}
        }
    }
    let date_header = req
        .header("x-amz-date")
        .map(|d| (d, AmzDate::parse(d.trim())))
        .or_else(|| {
            req.header("date")
                .map(|d| (d, AmzDate::parse_http_date(d.trim())))
        });
    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (sig.is_some(), "Signature"),
        (signed.is_some(), "SignedHeaders"),
    ] {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date_header.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed), Some(sig), Some((raw_date, date))) =
        (credential, signed, sig, date_header)
    else {
        return Err(Error::MissingParts(
            format!("{missing}Authorization={header}").trim().to_owned(),
        ));
    };
    let (access_key_id, scope, terminator) = split_credential(credential, false)?;
    let time = date.ok_or_else(|| Error::BadDate(raw_date.to_owned()))?;
    Ok(Claim {
        location: Location::Header,
        access_key_id,
        scope,
        terminator,
        time,
        signed_headers: split_signed_headers(Cow::Borrowed(signed))?,
        signature: Cow::Borrowed(sig),
        session_token: req.header("x-amz-security-token").map(Cow::Borrowed),
    })
}

fn parse_query<'a>(req: &HttpRequest<'a>, query: &QueryParts<'a>) -> Result<Claim<'a>, Error> {
    let required = [
        ("X-Amz-Algorithm", query.algorithm),
        ("X-Amz-Credential", query.credential),
        ("X-Amz-Signature", query.signature),
        ("X-Amz-Date", query.date),
        ("X-Amz-SignedHeaders", query.signed_headers),
    ];
    let [
        (_, Some(algorithm)),
        (_, Some(credential)),
        (_, Some(signature)),
        (_, Some(raw_date)),
        (_, Some(signed)),
    ] = required
    else {
        let missing: Vec<String> = required
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(n, _)| format!("'{n}'"))
            .collect();
        return Err(Error::MissingQueryParts(missing.join(", ")));
    };
    let algorithm = decode_component(algorithm);
    if algorithm != ALGORITHM {
        return Err(Error::UnsupportedAlgorithm(algorithm.into_owned()));
    }
    if let Some(expires) = query.expires.map(decode_component) {
        match expires.parse::<u32>() {
            Ok(1..=604_800) => {}
            _ => return Err(Error::BadExpires(expires.into_owned())),
        }
    }
    let (access_key_id, scope, terminator) = split_credential(credential, true)?;
    let raw_date = decode_component(raw_date);
    let time = AmzDate::parse(&raw_date).ok_or_else(|| Error::BadDate(raw_date.to_string()))?;
    Ok(Claim {
        location: Location::Query,
        access_key_id,
        scope,
        terminator,
        time,
        signed_headers: split_signed_headers(decode_component(signed))?,
        signature: decode_component(signature),
        session_token: query
            .security_token
            .map(decode_component)
            .or_else(|| req.header("x-amz-security-token").map(Cow::Borrowed)),
    })
}

/// The 32 bytes of a hex signature (either case), or `None` when it is not 64 hex digits.
fn decode_signature(hex: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = [0u8; 32];
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *byte = (digit(*hi)? << 4) | digit(*lo)?;
    }
    Some(out)
}

impl Claim<'_> {
    /// Checks the scope: service, terminator, region (through `region_ok`), and that its date is
    /// the request's date.
    pub fn check_scope(
        &self,
        service: &str,
        region_ok: impl Fn(&str) -> bool,
    ) -> Result<(), Error> {
        if self.scope.service != service {
            return Err(Error::WrongService(service.to_owned()));
        }
        if self.terminator != "aws4_request" {
            return Err(Error::WrongTerminator(self.terminator.to_string()));
        }
        if !region_ok(&self.scope.region) {
            return Err(Error::WrongRegion(self.scope.region.to_string()));
        }
        if !self.time.has_date(&self.scope.date) {
            return Err(Error::ScopeDateMismatch {
                scope: self.scope.date.to_string(),
                date: self.time.date_stamp(),
                amz_date: self.time.to_string(),
            });
        }
        Ok(())
    }

    /// Checks that the request time is within `window` of `now`, either way.
    pub fn check_time(&self, now: AmzDate, window: Duration) -> Result<(), Error> {
        let minutes = window.whole_minutes();
        let earliest = AmzDate::from_time(now.time() - window);
        let latest = AmzDate::from_time(now.time() + window);
        if self.time < earliest {
            return Err(Error::Expired {
                request: self.time.to_string(),
                earliest: earliest.to_string(),
                now: now.to_string(),
                minutes,
            });
        }
        if self.time > latest {
            return Err(Error::NotYetCurrent {
                request: self.time.to_string(),
                latest: latest.to_string(),
                now: now.to_string(),
                minutes,
            });
        }
        Ok(())
    }

    /// Recomputes the signature with `secret` and compares it in constant time.
    pub fn verify(&self, req: &HttpRequest<'_>, secret: &SecretKey) -> Result<(), Error> {
        self.verify_with(req, &SigningKey::derive(secret, &self.scope))
    }

    /// As [`Claim::verify`], with a signing key the caller kept from an earlier request. A key
    /// derived for another scope is refused, never used.
    pub fn verify_with(&self, req: &HttpRequest<'_>, key: &SigningKey) -> Result<(), Error> {
        if *key.scope() != self.scope {
            return Err(Error::SignatureMismatch);
        }
        let body_hash = payload_hash(req.body);
        if self
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-content-sha256")
            && req
                .header("x-amz-content-sha256")
                .is_some_and(|v| v.trim() != body_hash)
        {
            return Err(Error::ContentHashMismatch);
        }
        let creq = canonical_request(
            req,
            &self.signed_headers,
            self.location == Location::Query,
            &body_hash,
        );
        let expected = signature_bytes(key, &string_to_sign(&self.time, &self.scope, &creq));
        // The provided signature is the client's, not a secret: decoding it first is safe, and
        // the comparison of the two MACs is then constant-time.
        let provided = decode_signature(&self.signature).ok_or(Error::SignatureMismatch)?;
        if bool::from(expected.as_ref().ct_eq(&provided)) {
            Ok(())
        } else {
            Err(Error::SignatureMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts as decoding the whole value first and splitting after would give them.
    fn reference_parts(raw: &str) -> Vec<String> {
        decode_component(raw)
            .split('/')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn encoded_credentials_split_as_if_decoded_first() {
        for raw in [
            "AKID%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
            "AKID/20150830%2fus-east-1%2Fsts/aws4_request",
            "A%2BB+C%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
            "%%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
            "%2%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
            "%E2%2F20150830%2Fus-east-1%2Fsts%2Faws4_request",
        ] {
            let (key, scope, term) = split_credential(raw, true).unwrap();
            let got = vec![
                key.into_owned(),
                scope.date.into_owned(),
                scope.region.into_owned(),
                scope.service.into_owned(),
                term.into_owned(),
            ];
            assert_eq!(got, reference_parts(raw), "{raw}");
        }
        for raw in [
            "AKID%252F20150830%2Fus-east-1%2Fsts%2Faws4_request",
            "AKID%2F20150830%2Fus-east-1%2Fsts%2Faws4_request%2F",
            "AKID%2F20150830",
            "",
        ] {
            assert_ne!(reference_parts(raw).len(), 5, "{raw}");
            assert_eq!(
                split_credential(raw, true).unwrap_err(),
                Error::CredentialParts(decode_component(raw).into_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn plain_credentials_are_borrowed_and_never_decoded() {
        let (key, scope, _) =
            split_credential("AK%2F/20150830/us-east-1/sts/aws4_request", false).unwrap();
        assert!(matches!(key, Cow::Borrowed("AK%2F")));
        assert!(matches!(scope.region, Cow::Borrowed("us-east-1")));
        assert!(split_credential("AK%2F20150830/us-east-1/sts/aws4_request", false).is_err());
    }

    #[test]
    fn signed_header_names_are_lowercased_only_when_needed() {
        let names = split_signed_headers(Cow::Borrowed("Host; x-amz-date")).unwrap();
        assert_eq!(names, ["host", "x-amz-date"]);
        assert!(matches!(names.get(1), Some(Cow::Borrowed(_))));
        assert_eq!(
            split_signed_headers(Cow::Borrowed("x-amz-date")).unwrap_err(),
            Error::HostNotSigned
        );
    }

    #[test]
    fn the_first_of_repeated_presign_parameters_counts() {
        let parts = QueryParts::read("X-Amz-Date=1&Action=A&X-Amz-Date=2&X-Amz-Other=3");
        assert_eq!(parts.date, Some("1"));
        assert!(
            !parts.any(),
            "a date alone does not make a presigned request"
        );
        assert!(QueryParts::read("X-Amz-Signature=00").any());
    }

    #[test]
    fn signatures_decode_from_64_hex_digits_of_either_case() {
        let lower = "0f".repeat(32);
        assert_eq!(decode_signature(&lower), Some([0x0f; 32]));
        assert_eq!(decode_signature(&lower.to_uppercase()), Some([0x0f; 32]));
        assert_eq!(decode_signature(&"0f".repeat(31)), None, "too short");
        assert_eq!(decode_signature(&"0f".repeat(33)), None, "too long");
        assert_eq!(decode_signature(&format!("0g{}", "0f".repeat(31))), None);
        assert_eq!(decode_signature(&format!("é{}", "0".repeat(62))), None);
    }
}
