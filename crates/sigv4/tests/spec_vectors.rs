//! The STS known-answer vectors of spec §2.9 (K3, S3–S5) and every parse/scope/time failure of
//! the verifier (spec §2.8), one test per reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use tessera_sigv4::sign::{Params, presign, sign_headers};
use tessera_sigv4::verify::{Location, parse};
use tessera_sigv4::{AmzDate, Error, HttpRequest, SecretKey};
use time::Duration;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

fn at() -> AmzDate {
    AmzDate::parse("20150830T123600Z").unwrap()
}

fn params<'a>(
    secret: &'a SecretKey,
    key: &'a str,
    token: Option<&'a str>,
    region: &'a str,
    service: &'a str,
) -> Params<'a> {
    Params {
        access_key_id: key,
        secret,
        session_token: token,
        region,
        service,
        time: at(),
    }
}

#[test]
fn k3_iam_list_users() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [("content-type", FORM), ("host", "iam.amazonaws.com")];
    let req = HttpRequest {
        method: "GET",
        path: "/",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &headers,
        body: b"",
    };
    let signed = sign_headers(
        &req,
        &params(&secret, "AKIDEXAMPLE", None, "us-east-1", "iam"),
    );
    assert!(
        signed
            .string_to_sign
            .ends_with("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
    );
    assert_eq!(
        signed.signature,
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );
}

#[test]
fn s3_post_get_caller_identity() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [("content-type", FORM), ("host", "sts.amazonaws.com")];
    let req = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: BODY,
    };
    let signed = sign_headers(
        &req,
        &params(&secret, "AKIDEXAMPLE", None, "us-east-1", "sts"),
    );
    assert_eq!(
        signed.canonical_request,
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:sts.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\nab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843"
    );
    assert_eq!(
        signed.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/sts/aws4_request\ndb0f231bd5fb16e6f5461c322c611c18d360f776c1ec9aea36032f7469ea7559"
    );
    let auth = signed
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap();
    assert_eq!(
        auth.1,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=6fb20d31f734d876c5682fdd2678d194cf68b862755f83b7ba1373c0874be25c"
    );
}

#[test]
fn s4_temporary_key_regional() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [
        ("content-type", FORM),
        ("host", "sts.us-west-2.amazonaws.com"),
    ];
    let req = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: BODY,
    };
    let signed = sign_headers(
        &req,
        &params(
            &secret,
            "ASIAEXAMPLE",
            Some("EXAMPLESESSIONTOKEN"),
            "us-west-2",
            "sts",
        ),
    );
    assert!(
        signed
            .string_to_sign
            .ends_with("0c85adec9c90987c5b3c77e8ea5a40b1836768eb7d63b6714fe4530adb7400f0")
    );
    assert_eq!(
        signed.signature,
        "befac33369dc1148fa5668e65c2c98ef3b28c35ef1241a82c716fd0256bdd05b"
    );
}

#[test]
fn s5_presigned_get_caller_identity() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [("host", "sts.amazonaws.com")];
    let req = HttpRequest {
        method: "GET",
        path: "/",
        query: "Action=GetCallerIdentity&Version=2011-06-15",
        headers: &headers,
        body: b"",
    };
    let signed = presign(
        &req,
        &params(&secret, "AKIDEXAMPLE", None, "us-east-1", "sts"),
        900,
    );
    assert!(signed.canonical_request.contains("\nAction=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\n"));
    assert!(
        signed
            .string_to_sign
            .ends_with("710d381648b7d5fad5aedfce863a2e82ce44f80a17a34dba8054094a5b8334e0")
    );
    assert_eq!(
        signed.signature,
        "e8d7e61248a0d11a99b5981a6802d73250938b6d2c6f32f9a6b8a331d25ef4b1"
    );
    let sent = HttpRequest {
        query: &signed.query,
        ..req
    };
    let claim = parse(&sent).unwrap().unwrap();
    assert_eq!(claim.location, Location::Query);
    claim.verify(&sent, &secret).unwrap();
}

fn header_req<'a>(headers: &'a [(&'a str, &'a str)]) -> HttpRequest<'a> {
    HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body: BODY,
    }
}

fn parse_err(headers: &[(&str, &str)]) -> Error {
    parse(&header_req(headers)).unwrap_err()
}

const GOOD_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=6fb20d31f734d876c5682fdd2678d194cf68b862755f83b7ba1373c0874be25c";

#[test]
fn no_signature_at_all_is_not_an_error_here() {
    assert!(parse(&header_req(&[("host", "h")])).unwrap().is_none());
}

#[test]
fn other_algorithms_are_refused() {
    let e = parse_err(&[
        (
            "authorization",
            "AWS4-ECDSA-P256-SHA256 Credential=a/b/c/d/e",
        ),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    assert_eq!(
        e,
        Error::UnsupportedAlgorithm("AWS4-ECDSA-P256-SHA256".into())
    );
}

#[test]
fn items_without_equal_sign_are_refused() {
    let e = parse_err(&[
        ("authorization", "AWS4-HMAC-SHA256 Credential"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    assert!(matches!(e, Error::MalformedPair { ref item, .. } if item == "Credential"));
}

#[test]
fn every_missing_part_is_reported_at_once() {
    let e = parse_err(&[("authorization", "AWS4-HMAC-SHA256 SignedHeaders=host")]);
    let msg = e.to_string();
    for needle in [
        "'Credential' parameter",
        "'Signature' parameter",
        "'X-Amz-Date' or a 'Date' header",
    ] {
        assert!(msg.contains(needle), "{msg}");
    }
    assert!(!msg.contains("'SignedHeaders' parameter"), "{msg}");
}

#[test]
fn credential_must_have_five_parts() {
    let auth = GOOD_AUTH.replace("/us-east-1/sts/aws4_request", "/us-east-1");
    let e = parse_err(&[("authorization", &auth), ("x-amz-date", "20150830T123600Z")]);
    assert!(matches!(e, Error::CredentialParts(_)));
}

#[test]
fn bad_dates_are_refused() {
    let e = parse_err(&[("authorization", GOOD_AUTH), ("x-amz-date", "2015-08-30")]);
    assert_eq!(e, Error::BadDate("2015-08-30".into()));
}

#[test]
fn host_must_be_signed() {
    let auth = GOOD_AUTH.replace("content-type;host;x-amz-date", "content-type;x-amz-date");
    assert_eq!(
        parse_err(&[("authorization", &auth), ("x-amz-date", "20150830T123600Z")]),
        Error::HostNotSigned
    );
}

#[test]
fn the_date_header_may_replace_x_amz_date() {
    let headers = [
        ("authorization", GOOD_AUTH),
        ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
    ];
    assert_eq!(parse(&header_req(&headers)).unwrap().unwrap().time, at());
}

fn good_claim() -> tessera_sigv4::verify::Claim<'static> {
    // A claim borrows from its request; constant headers let it outlive this function.
    const HEADERS: &[(&str, &str)] = &[
        ("authorization", GOOD_AUTH),
        ("x-amz-date", "20150830T123600Z"),
    ];
    parse(&header_req(HEADERS)).unwrap().unwrap()
}

#[test]
fn scope_checks_each_part() {
    let claim = good_claim();
    claim.check_scope("sts", |r| r == "us-east-1").unwrap();
    assert_eq!(
        claim.check_scope("iam", |_| true),
        Err(Error::WrongService("iam".into()))
    );
    assert_eq!(
        claim.check_scope("sts", |r| r == "eu-west-1"),
        Err(Error::WrongRegion("us-east-1".into()))
    );
    let auth = GOOD_AUTH.replace("aws4_request", "aws5_request");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-amz-date", "20150830T123600Z"),
    ];
    let odd = parse(&header_req(&headers)).unwrap().unwrap();
    assert_eq!(
        odd.check_scope("sts", |_| true),
        Err(Error::WrongTerminator("aws5_request".into()))
    );
    let headers = [
        ("authorization", GOOD_AUTH),
        ("x-amz-date", "20150831T000000Z"),
    ];
    let other_day = parse(&header_req(&headers)).unwrap().unwrap();
    assert!(matches!(
        other_day.check_scope("sts", |_| true),
        Err(Error::ScopeDateMismatch { .. })
    ));
}

#[test]
fn time_window_is_fifteen_minutes_either_way() {
    let claim = good_claim();
    let window = Duration::minutes(15);
    let shifted = |m: i64| AmzDate::from_time(at().time() + Duration::minutes(m));
    claim.check_time(shifted(15), window).unwrap();
    claim.check_time(shifted(-15), window).unwrap();
    let late = claim.check_time(shifted(16), window).unwrap_err();
    assert_eq!(
        late.to_string(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"
    );
    let early = claim.check_time(shifted(-16), window).unwrap_err();
    assert!(
        early
            .to_string()
            .starts_with("Signature not yet current: 20150830T123600Z is still later than")
    );
}

#[test]
fn signature_mismatch_on_any_change() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [
        ("authorization", GOOD_AUTH),
        ("x-amz-date", "20150830T123600Z"),
        ("content-type", FORM),
        ("host", "sts.amazonaws.com"),
    ];
    let req = header_req(&headers);
    let claim = parse(&req).unwrap().unwrap();
    claim.verify(&req, &secret).unwrap();
    let upper = GOOD_AUTH.replace("6fb20d31f7", "6FB20D31F7");
    let headers_upper = [
        ("authorization", upper.as_str()),
        ("x-amz-date", "20150830T123600Z"),
        ("content-type", FORM),
        ("host", "sts.amazonaws.com"),
    ];
    let req_upper = header_req(&headers_upper);
    parse(&req_upper)
        .unwrap()
        .unwrap()
        .verify(&req_upper, &secret)
        .unwrap();
    let tampered = HttpRequest {
        body: b"Action=GetCallerIdentity&Version=2011-06-16",
        ..req
    };
    assert_eq!(
        claim.verify(&tampered, &secret),
        Err(Error::SignatureMismatch)
    );
    let other_host = [
        ("authorization", GOOD_AUTH),
        ("x-amz-date", "20150830T123600Z"),
        ("content-type", FORM),
        ("host", "evil.example"),
    ];
    assert_eq!(
        claim.verify(&header_req(&other_host), &secret),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(
        claim.verify(&req, &SecretKey::new("wrong".into())),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn presigned_requests_need_every_parameter() {
    let req = HttpRequest {
        method: "GET",
        path: "/",
        query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z",
        headers: &[("host", "h")],
        body: b"",
    };
    let e = parse(&req).unwrap_err();
    assert_eq!(
        e,
        Error::MissingQueryParts(
            "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders'".into()
        )
    );
}

#[test]
fn presigned_expires_must_be_in_range() {
    for bad in ["0", "604801", "abc", "-1"] {
        let query = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires={bad}"
        );
        let req = HttpRequest {
            method: "GET",
            path: "/",
            query: &query,
            headers: &[("host", "h")],
            body: b"",
        };
        assert_eq!(parse(&req).unwrap_err(), Error::BadExpires(bad.into()));
    }
}

#[test]
fn signed_content_hash_must_match_the_body() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [
        ("host", "sts.amazonaws.com"),
        ("x-amz-content-sha256", "00"),
    ];
    let req = header_req(&headers);
    let signed = sign_headers(
        &req,
        &params(&secret, "AKIDEXAMPLE", None, "us-east-1", "sts"),
    );
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.extend(signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let sent = header_req(&all);
    assert_eq!(
        parse(&sent).unwrap().unwrap().verify(&sent, &secret),
        Err(Error::ContentHashMismatch)
    );
}

#[test]
fn a_kept_signing_key_of_another_scope_is_refused() {
    let secret = SecretKey::new(SECRET.into());
    let headers = [
        ("authorization", GOOD_AUTH),
        ("x-amz-date", "20150830T123600Z"),
        ("content-type", FORM),
        ("host", "sts.amazonaws.com"),
    ];
    let req = header_req(&headers);
    let claim = parse(&req).unwrap().unwrap();
    let right = tessera_sigv4::SigningKey::derive(&secret, &claim.scope);
    claim.verify_with(&req, &right).unwrap();
    let other_day = tessera_sigv4::Scope {
        date: "20150831".into(),
        ..claim.scope.clone()
    };
    let wrong = tessera_sigv4::SigningKey::derive(&secret, &other_day);
    assert_eq!(
        claim.verify_with(&req, &wrong),
        Err(Error::SignatureMismatch)
    );
}
