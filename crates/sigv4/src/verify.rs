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
#[derive(Clone, Debug)]
pub struct Claim {
    /// Where the signature was found.
    pub location: Location,
    /// The access key id the request claims to be signed with.
    pub access_key_id: String,
    /// The credential scope.
    pub scope: Scope,
    terminator: String,
    /// The request time.
    pub time: AmzDate,
    /// The signed header names, lowercase, as the client listed them.
    pub signed_headers: Vec<String>,
    signature: String,
    /// The session token sent with the request (signed or not).
    pub session_token: Option<String>,
}

fn split_credential(credential: &str) -> Result<(String, Scope, String), Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, date, region, service, term] => Ok((
            (*key).to_owned(),
            Scope {
                date: (*date).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
            },
            (*term).to_owned(),
        )),
        _ => Err(Error::CredentialParts(credential.to_owned())),
    }
}

fn split_signed_headers(list: &str) -> Result<Vec<String>, Error> {
    let names: Vec<String> = list
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if !names.iter().any(|n| n == "host") {
        return Err(Error::HostNotSigned);
    }
    Ok(names)
}

/// Reads the signature parameters of a request. `Ok(None)` means the request carries no
/// signature at all (the caller decides whether that is allowed).
pub fn parse(req: &HttpRequest<'_>) -> Result<Option<Claim>, Error> {
    if let Some(header) = req.header("authorization") {
        return parse_header(req, header).map(Some);
    }
    // Only the `X-Amz-*` parameters matter here; the rest are neither decoded nor copied.
    let query: Vec<(&str, Cow<'_, str>)> = req
        .query
        .split('&')
        .filter(|item| item.starts_with("X-Amz-"))
        .map(|item| {
            let (n, v) = item.split_once('=').unwrap_or((item, ""));
            (n, decode_component(v))
        })
        .collect();
    if query.iter().any(|(n, _)| {
        matches!(
            *n,
            "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature"
        )
    }) {
        return parse_query(req, &query).map(Some);
    }
    Ok(None)
}

fn parse_header(req: &HttpRequest<'_>, header: &str) -> Result<Claim, Error> {
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
    let (access_key_id, scope, terminator) = split_credential(credential)?;
    let time = date.ok_or_else(|| Error::BadDate(raw_date.to_owned()))?;
    Ok(Claim {
        location: Location::Header,
        access_key_id,
        scope,
        terminator,
        time,
        signed_headers: split_signed_headers(signed)?,
        signature: sig.to_owned(),
        session_token: req.header("x-amz-security-token").map(str::to_owned),
    })
}

fn parse_query(req: &HttpRequest<'_>, query: &[(&str, Cow<'_, str>)]) -> Result<Claim, Error> {
    let get = |name: &str| query.iter().find(|(n, _)| *n == name).map(|(_, v)| &**v);
    let required = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
    ];
    let missing: Vec<String> = required
        .iter()
        .filter(|n| get(n).is_none())
        .map(|n| format!("'{n}'"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingQueryParts(missing.join(", ")));
    }
    let field = |name: &str| get(name).unwrap_or_default();
    let algorithm = field("X-Amz-Algorithm");
    if algorithm != ALGORITHM {
        return Err(Error::UnsupportedAlgorithm(algorithm.to_owned()));
    }
    if let Some(expires) = get("X-Amz-Expires") {
        match expires.parse::<u32>() {
            Ok(1..=604_800) => {}
            _ => return Err(Error::BadExpires(expires.to_owned())),
        }
    }
    let (access_key_id, scope, terminator) = split_credential(field("X-Amz-Credential"))?;
    let raw_date = field("X-Amz-Date");
    let time = AmzDate::parse(raw_date).ok_or_else(|| Error::BadDate(raw_date.to_owned()))?;
    Ok(Claim {
        location: Location::Query,
        access_key_id,
        scope,
        terminator,
        time,
        signed_headers: split_signed_headers(field("X-Amz-SignedHeaders"))?,
        signature: field("X-Amz-Signature").to_owned(),
        session_token: get("X-Amz-Security-Token")
            .map(str::to_owned)
            .or_else(|| req.header("x-amz-security-token").map(str::to_owned)),
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

impl Claim {
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
            return Err(Error::WrongTerminator(self.terminator.clone()));
        }
        if !region_ok(&self.scope.region) {
            return Err(Error::WrongRegion(self.scope.region.clone()));
        }
        let date = self.time.date_stamp();
        if self.scope.date != date {
            return Err(Error::ScopeDateMismatch {
                scope: self.scope.date.clone(),
                date,
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
